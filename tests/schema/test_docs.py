"""The served docs: /schema, /docs, /docs/redoc and /docs/errors, public and offline."""

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import Resolver404, resolve
from rest_framework.test import APIClient

from orderservice.api import errors

pytestmark = pytest.mark.django_db

SPEC_OPERATIONS = {
    ("/orders", "get"),
    ("/orders", "post"),
    ("/orders/{order_id}", "get"),
    ("/orders/{order_id}", "patch"),
    ("/orders/{order_id}", "delete"),
    ("/products", "get"),
    ("/products", "post"),
    ("/products/{product_id}", "get"),
    ("/products/{product_id}", "patch"),
}


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name == "id" and value:
                self.ids.add(value)
            if name in ("src", "href") and value:
                self.sources.append(value)


def _parse(html: str) -> _Ids:
    parser = _Ids()
    parser.feed(html)
    return parser


@pytest.mark.parametrize("path", ["/schema", "/schema/"])
def test_the_schema_is_public_openapi_3_json(path: str):
    # when: no credentials at all, and a bad token (ignored, not a 401)
    anonymous = Client().get(path)
    bad_token = Client().get(path, HTTP_AUTHORIZATION="Token nope")

    # then
    assert anonymous.status_code == 200
    assert bad_token.status_code == 200
    assert anonymous["Content-Type"].startswith("application/vnd.oai.openapi+json")
    document = anonymous.json()
    assert document["openapi"].startswith("3.")


def test_the_schema_builds_without_a_warning_and_validates(tmp_path: Path):
    # A view or authenticator spectacular cannot read is a warning: an undocumented corner.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yaml"))


@pytest.mark.parametrize(
    "accept",
    [
        "application/json",
        "application/vnd.oai.openapi+json",
        "*/*",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",  # a browser
    ],
)
def test_the_schema_is_json_for_what_clients_send_as_accept(accept: str):
    response = Client().get("/schema", HTTP_ACCEPT=accept)

    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")


@pytest.mark.parametrize(
    ("query", "accept"),
    [({"format": "yaml"}, "*/*"), ({}, "application/yaml"), ({}, "application/vnd.oai.openapi")],
)
def test_the_schema_is_yaml_on_request(query: dict[str, str], accept: str):
    response = Client().get("/schema", query, HTTP_ACCEPT=accept)

    assert response.status_code == 200
    assert response.content.startswith(b"openapi: 3.")


def test_the_schema_documents_every_endpoint_and_its_contract():
    # when
    document = Client().get("/schema").json()

    # then: every operation of the spec, under its slash-less path
    operations = {(path, method) for path, item in document["paths"].items() for method in item}
    assert SPEC_OPERATIONS <= operations
    assert not [path for path in document["paths"] if path.endswith("/")]
    # both ways of sending a key
    schemes = document["components"]["securitySchemes"]
    assert schemes["Token"] == {**schemes["Token"], "type": "apiKey", "name": "Authorization"}
    assert schemes["Bearer"]["scheme"] == "bearer"
    # one error body everywhere
    error = document["components"]["schemas"]["Error"]
    assert set(error["properties"]) == {"error", "documentation", "details"}
    assert set(error["required"]) == {"error", "documentation"}
    for path, method in SPEC_OPERATIONS:
        responses = document["paths"][path][method]["responses"]
        assert "401" in responses, (path, method)
        for status, response in responses.items():
            if status >= "400":
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (path, method, status)


def test_the_schema_names_the_headers_and_parameters_of_the_contract():
    # when
    paths = Client().get("/schema").json()["paths"]

    # then
    place = paths["/orders"]["post"]
    assert {"Location", "ETag"} <= set(place["responses"]["200"]["headers"])
    assert "Idempotency-Key" in {p["name"] for p in place.get("parameters", [])}
    for method in ("patch", "delete"):
        operation = paths["/orders/{order_id}"][method]
        assert "If-Match" in {p["name"] for p in operation["parameters"]}
        assert "412" in operation["responses"]
        assert "ETag" in operation["responses"]["200"]["headers"]
    assert {"limit", "status", "cursor"} <= {
        p["name"] for p in paths["/orders"]["get"]["parameters"]
    }
    assert "Retry-After" in paths["/orders"]["post"]["responses"]["503"]["headers"]
    links = place["responses"]["200"]["links"]
    assert links["GetOrder"]["parameters"] == {"order_id": "$response.body#/order_id"}


def test_the_schema_carries_examples_of_the_contract():
    # when
    paths = Client().get("/schema").json()["paths"]

    # then
    placed = paths["/orders"]["post"]["responses"]["200"]["content"]["application/json"]
    assert any(e["value"]["out_of_stock"] for e in placed["examples"].values())
    out_of_stock = paths["/orders"]["post"]["responses"]["404"]["content"]["application/json"]
    assert any(
        "out_of_stock" in e["value"].get("details", {}) for e in out_of_stock["examples"].values()
    )
    edited = paths["/orders/{order_id}"]["patch"]["responses"]["200"]["content"]
    assert any("changes" in e["value"] for e in edited["application/json"]["examples"].values())


@pytest.mark.parametrize("path", ["/docs", "/docs/", "/docs/redoc", "/docs/redoc/"])
def test_the_docs_ui_is_public_and_loads_nothing_from_elsewhere(path: str):
    # when
    response = Client().get(path, HTTP_ACCEPT="text/html")

    # then
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    sources = _parse(page).sources
    assert sources, "the page references its scripts"
    for source in sources:
        assert not urlsplit(source).netloc, f"{source} is not served by this app"
        asset = Client().get(source)
        assert asset.status_code == 200, source
    assert not re.search(r"https?://", page.replace("http://www.w3.org", "")), "no CDN"


def test_every_error_of_the_catalogue_has_its_section():
    # when
    response = Client().get("/docs/errors")

    # then
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    ids = _parse(page).ids
    for kind in (*errors.CATALOGUE, *errors.PROXY_CATALOGUE):
        assert kind.slug in ids, kind.slug
        assert kind.message in page.replace("&#x27;", "'")


def test_the_error_page_answers_with_a_slash_too():
    assert Client().get("/docs/errors/").status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/orders/ord_000000000000000000000000", None),
        ("post", "/orders", {"products": [{"product_id": "SKU-404", "item_count": 1}]}),
        ("get", "/nowhere", None),
    ],
    ids=["order-not-found", "unknown-product", "unknown-route"],
)
def test_the_documentation_url_of_a_real_error_resolves_to_its_section(
    client_user: APIClient, method: str, path: str, body: dict | None
):
    # given: an error answered by the API
    error = getattr(client_user, method)(path, body, format="json").json()
    url = urlsplit(error["documentation"])

    # when: the link is followed
    page = Client().get(url.path)

    # then
    assert url.scheme == "http"
    assert url.netloc == "testserver"
    assert page.status_code == 200
    assert url.fragment in _parse(page.content.decode()).ids


@override_settings(ERROR_DOCS_BASE_URL="https://docs.example.com/api/errors")
def test_the_documentation_base_is_a_setting(client_user: APIClient):
    # when
    error = client_user.get("/orders/ord_000000000000000000000000").json()

    # then
    assert error["documentation"] == "https://docs.example.com/api/errors#order-not-found"


def test_the_docs_routes_are_the_ones_the_spec_names():
    for path in ("/docs", "/schema", "/docs/errors"):
        try:
            resolve(path)
        except Resolver404:  # pragma: no cover - the assertion below says which
            pytest.fail(f"{path} is not routed")
