"""The schema's examples: valid for their schemas; "Try it out" works on the demo data."""

import io
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from orderservice.inventory.models import Product

pytestmark = pytest.mark.django_db

ORDER_WRITES = [("/orders", "post"), ("/orders/{order_id}", "patch")]


@pytest.fixture
def document() -> dict[str, Any]:
    return Client().get("/schema").json()


@pytest.fixture
def demo_token() -> str:
    """`load_demo` run as on a fresh install; its output is the demo user's token."""
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue().strip()


def _request_examples(document: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    content = document["paths"][path][method]["requestBody"]["content"]["application/json"]
    return {name: example["value"] for name, example in content["examples"].items()}


def _response_example(document: dict[str, Any], path: str, method: str, name: str) -> Any:
    content = document["paths"][path][method]["responses"]["200"]["content"]
    return content["application/json"]["examples"][name]["value"]


def _examples(document: dict[str, Any]) -> Iterator[tuple[str, Any, Any]]:
    """(where, value, schema) of every example of a body."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            bodies = {"request": operation.get("requestBody", {})}
            bodies.update(operation["responses"])
            for status, body in bodies.items():
                for media, content in body.get("content", {}).items():
                    for name, example in content.get("examples", {}).items():
                        where = f"{method} {path} {status} {media} {name}"
                        yield where, example["value"], content["schema"]


def _json_schema(node: Any) -> Any:
    """An OpenAPI 3.0 schema as JSON Schema: `nullable` becomes a "null" alternative."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    schema = {key: _json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable") is True:
        return {"anyOf": [schema, {"type": "null"}]}
    return schema


def test_every_example_is_valid_for_its_schema(document: dict[str, Any]):
    components = _json_schema(document["components"])
    examples = list(_examples(document))
    assert len(examples) > 50
    for where, value, schema in examples:
        # The document as the root, so that "#/components/schemas/..." resolves.
        root = {"components": components, **_json_schema(schema)}
        errors = [e.message for e in jsonschema.Draft202012Validator(root).iter_errors(value)]
        assert not errors, (where, errors)


def test_the_order_request_examples_name_only_demo_products(
    document: dict[str, Any], demo_token: str
):
    demo_products = set(Product.objects.values_list("product_id", flat=True))
    assert demo_products == {"SKU-1", "SKU-2", "SKU-3", "SKU-4", "SKU-5"}

    for path, method in ORDER_WRITES:
        for name, value in _request_examples(document, path, method).items():
            named = {line["product_id"] for line in value.get("products", [])}
            assert named <= demo_products, (method, path, name)


def test_the_product_create_examples_name_a_product_the_demo_lacks(
    document: dict[str, Any], demo_token: str
):
    for name, value in _request_examples(document, "/products", "post").items():
        assert not Product.objects.filter(product_id=value["product_id"]).exists(), name


def test_no_request_header_is_filled_in_by_the_docs(document: dict[str, Any]):
    # Swagger UI sends a parameter's example or default on "Try it out": a fixed
    # Idempotency-Key would make every later try a replay (same body) or a 422 (another body),
    # a fixed If-Match a 412.
    headers = [
        (path, method, parameter)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "header"
    ]
    assert "Idempotency-Key" in {parameter["name"] for _, _, parameter in headers}
    assert "If-Match" in {parameter["name"] for _, _, parameter in headers}
    for path, method, parameter in headers:
        assert "example" not in parameter, (method, path, parameter["name"])
        assert "examples" not in parameter, (method, path, parameter["name"])
        assert "default" not in parameter.get("schema", {}), (method, path, parameter["name"])


def test_the_documented_requests_work_on_the_demo_data(
    document: dict[str, Any], demo_token: str, client_staff: APIClient
):
    # given: the demo user, as after `make run`
    demo = APIClient()
    demo.credentials(HTTP_AUTHORIZATION=f"Token {demo_token}")
    place = _request_examples(document, "/orders", "post")
    edit = _request_examples(document, "/orders/{order_id}", "patch")

    # when / then: each order placed answers as its documented example, but for its id
    answers = {}
    for name, example in (("Partial", "Partial"), ("AllOrNothing", "Filled")):
        response = demo.post("/orders", place[name], format="json")
        assert response.status_code == 200, (name, response.json())
        answers[name] = response.json()
        documented = _response_example(document, "/orders", "post", example)
        assert {**answers[name], "order_id": documented["order_id"]} == documented, name

    # when / then: the edits, on the order placed all or nothing (the documented starting point)
    order = f"/orders/{answers['AllOrNothing']['order_id']}"
    response = demo.patch(order, edit["EditLines"], format="json")
    assert response.status_code == 200, response.json()
    documented = _response_example(document, "/orders/{order_id}", "patch", "Edited")
    assert {**response.json(), "order_id": documented["order_id"]} == documented
    response = client_staff.patch(order, edit["SetStatus(staff)"], format="json")
    assert response.status_code == 200, response.json()

    # when / then: staff create a product and change one
    for value in _request_examples(document, "/products", "post").values():
        response = client_staff.post("/products", value, format="json")
        assert response.status_code == 201, response.json()
    for value in _request_examples(document, "/products/{product_id}", "patch").values():
        response = client_staff.patch("/products/SKU-1", value, format="json")
        assert response.status_code == 200, response.json()
