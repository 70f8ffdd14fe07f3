"""The HTTP edge of SPEC §1: every error is JSON in the contract's shape, whatever went wrong."""

import json
import logging
from typing import Any

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from orderservice.orders.models import Order
from tests.api.crash_urls import SECRET
from tests.api.support import (
    INTERNAL,
    INVALID,
    METHOD_NOT_ALLOWED,
    MISSING_ORDER_ID,
    NOT_FOUND,
    TOO_LARGE,
    UNSUPPORTED,
    assert_error,
    json_body,
)
from tests.factories import ProductFactory, stock

pytestmark = pytest.mark.django_db

ORDER = {"products": [{"product_id": "SKU-1", "item_count": 1}]}
LIMIT = 64 * 1024


@pytest.fixture(autouse=True)
def product() -> None:
    ProductFactory.create(product_id="SKU-1", product_count=5)


def _nothing_changed() -> None:
    assert Order.objects.count() == 0
    assert stock() == {"SKU-1": 5}


# --- 400: bodies that are not a JSON object ------------------------------------------------

WRITES = [
    pytest.param("post", "/orders", id="POST-orders"),
    pytest.param("patch", f"/orders/{MISSING_ORDER_ID}", id="PATCH-order"),
    pytest.param("post", "/products", id="POST-products"),
    pytest.param("patch", "/products/SKU-1", id="PATCH-product"),
]


@pytest.mark.parametrize(("method", "path"), WRITES)
@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        # the decoder's own words follow the prefix; they vary between Python versions
        pytest.param('{"products": [', "JSON parse error - ", id="truncated"),
        pytest.param("{'products': []}", "JSON parse error - ", id="quotes"),
        pytest.param('{"products": [],}', "JSON parse error - ", id="comma"),
        pytest.param("products=1", "JSON parse error - ", id="form-encoded"),
        pytest.param('{"a": NaN}', "JSON parse error - Out of range float", id="nan"),
        pytest.param("[" * 20_000, "JSON parse error - nested too deeply", id="deep-nesting"),
    ],
)
def test_malformed_json_is_400(
    client_staff: APIClient, method: str, path: str, raw: str, reason: str
) -> None:
    # when
    response = getattr(client_staff, method)(path, raw, content_type="application/json")

    # then
    assert response.status_code == 400
    body = json_body(response)
    assert set(body) == {"error", "documentation", "details"}
    assert body["error"] == INVALID
    assert body["documentation"] == "http://testserver/docs/errors#invalid-request"
    assert list(body["details"]) == ["body"]
    assert body["details"]["body"][0].startswith(reason), body
    _nothing_changed()


def test_a_body_that_is_not_utf8_is_400(client_user: APIClient) -> None:
    # when
    response = client_user.post("/orders", b'{"products": "\xff"}', content_type="application/json")

    # then
    assert response.status_code == 400
    assert json_body(response)["error"] == INVALID
    _nothing_changed()


@pytest.mark.parametrize(("method", "path"), WRITES)
@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        pytest.param("[]", "list", id="array"),
        pytest.param('"products"', "str", id="string"),
        pytest.param("42", "int", id="number"),
        pytest.param("true", "bool", id="boolean"),
    ],
)
def test_a_body_that_is_not_an_object_is_400(
    client_staff: APIClient, method: str, path: str, raw: str, kind: str
) -> None:
    # when
    response = getattr(client_staff, method)(path, raw, content_type="application/json")

    # then
    assert_error(
        response,
        400,
        INVALID,
        "invalid-request",
        {"body": [f"Invalid data. Expected a dictionary, but got {kind}."]},
    )
    _nothing_changed()


# --- 404: unknown routes ---------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
@pytest.mark.parametrize(
    "path",
    [
        "/nope",
        "/order",
        "/orders/ord_x/items",
        "/orders//",
        "/products/SKU-1/stock",
        "/api/orders",
        "/ORDERS",
    ],
)
@pytest.mark.parametrize("authenticated", [True, False], ids=["user", "anonymous"])
def test_an_unknown_route_is_a_json_404(
    client_user: APIClient, method: str, path: str, authenticated: bool
) -> None:
    # given
    client = client_user if authenticated else APIClient()

    # when
    response = getattr(client, method)(path, ORDER, format="json")

    # then
    assert_error(response, 404, NOT_FOUND, "not-found")
    _nothing_changed()


# --- 405: the method is not one the endpoint answers ----------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        pytest.param("put", "/orders", "GET, POST", id="PUT-orders"),
        pytest.param("patch", "/orders", "GET, POST", id="PATCH-orders"),
        pytest.param("delete", "/orders", "GET, POST", id="DELETE-orders"),
        pytest.param("post", f"/orders/{MISSING_ORDER_ID}", "GET, PATCH, DELETE", id="POST-order"),
        pytest.param("put", f"/orders/{MISSING_ORDER_ID}", "GET, PATCH, DELETE", id="PUT-order"),
        pytest.param("put", "/products", "GET, POST", id="PUT-products"),
        pytest.param("delete", "/products", "GET, POST", id="DELETE-products"),
        pytest.param("post", "/products/SKU-1", "GET, PATCH", id="POST-product"),
        pytest.param("put", "/products/SKU-1", "GET, PATCH", id="PUT-product"),
        pytest.param("delete", "/products/SKU-1", "GET, PATCH", id="DELETE-product"),
    ],
)
def test_a_wrong_method_is_405_with_allow(
    client_staff: APIClient, method: str, path: str, allow: str
) -> None:
    # when
    response = getattr(client_staff, method)(path, ORDER, format="json")

    # then
    assert_error(response, 405, METHOD_NOT_ALLOWED, "method-not-allowed")
    allowed = {m.strip() for m in response["Allow"].split(",")}
    assert set(allow.split(", ")) <= allowed
    assert allowed <= {*allow.split(", "), "HEAD", "OPTIONS"}
    _nothing_changed()


# --- 413: bodies over 64 KiB ----------------------------------------------------------------


def _padded(size: int) -> str:
    """A JSON object of exactly `size` bytes (a valid order plus an unknown padding field)."""
    head = json.dumps({**ORDER, "pad": ""})
    pad = "x" * (size - len(head))
    body = json.dumps({**ORDER, "pad": pad})
    assert len(body.encode()) == size
    return body


@pytest.mark.parametrize(("method", "path"), WRITES)
def test_a_body_over_64_kib_is_413(client_staff: APIClient, method: str, path: str) -> None:
    # when
    response = getattr(client_staff, method)(
        path, _padded(LIMIT + 1), content_type="application/json"
    )

    # then
    assert_error(response, 413, TOO_LARGE, "request-too-large")
    _nothing_changed()


def test_a_body_over_64_kib_is_413_before_authentication() -> None:
    # when
    response = APIClient().post("/orders", _padded(10 * LIMIT), content_type="application/json")

    # then
    assert_error(response, 413, TOO_LARGE, "request-too-large")
    _nothing_changed()


def test_a_body_of_exactly_64_kib_is_read(client_user: APIClient) -> None:
    # when
    response = client_user.post("/orders", _padded(LIMIT), content_type="application/json")

    # then it gets past the size check, to validation
    assert_error(response, 400, INVALID, "invalid-request", {"pad": ["Unknown field."]})
    _nothing_changed()


# --- 415: bodies that are not JSON ----------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), WRITES)
@pytest.mark.parametrize(
    ("content_type", "raw"),
    [
        pytest.param("text/plain", json.dumps(ORDER), id="text-plain"),
        pytest.param("application/x-www-form-urlencoded", "products=SKU-1", id="form"),
        pytest.param("multipart/form-data; boundary=xx", "--xx--", id="multipart"),
        pytest.param("application/xml", "<order/>", id="xml"),
        pytest.param("application/jsonp", json.dumps(ORDER), id="json-lookalike"),
    ],
)
def test_a_body_that_is_not_json_is_415(
    client_staff: APIClient, method: str, path: str, content_type: str, raw: str
) -> None:
    # when
    response = getattr(client_staff, method)(path, raw, content_type=content_type)

    # then
    assert_error(response, 415, UNSUPPORTED, "unsupported-media-type")
    _nothing_changed()


def test_json_with_a_charset_is_json(client_user: APIClient) -> None:
    # when
    response = client_user.post(
        "/orders", json.dumps(ORDER), content_type="application/json; charset=utf-8"
    )

    # then
    assert response.status_code == 200
    assert stock() == {"SKU-1": 4}


# --- 500: a bug answers JSON and tells nothing -----------------------------------------------


@override_settings(ROOT_URLCONF="tests.api.crash_urls")
@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/crash/api"), ("post", "/crash/api"), ("get", "/crash/django")],
)
def test_a_crash_is_a_json_500_without_internals(
    client_user: APIClient, caplog: pytest.LogCaptureFixture, method: str, path: str
) -> None:
    # given
    client_user.raise_request_exception = False

    # when
    with caplog.at_level(logging.ERROR):
        response = getattr(client_user, method)(path, ORDER, format="json")

    # then
    assert_error(response, 500, INTERNAL, "internal-error")
    content = response.content.decode()
    for leak in ("Traceback", "SELECT", "hunter2", "settings", "Error", "File "):
        assert leak not in content
    # the traceback goes to the log instead
    assert any(record.exc_info and SECRET in str(record.exc_info[1]) for record in caplog.records)
    _nothing_changed()


@override_settings(ROOT_URLCONF="tests.api.crash_urls")
def test_the_real_api_still_works_under_the_crash_urlconf(client_user: APIClient) -> None:
    # when
    response = client_user.get("/products/SKU-1")

    # then
    assert response.status_code == 200


# --- trailing slash, documentation links -----------------------------------------------------


@pytest.mark.parametrize("slash", ["", "/"], ids=["no-slash", "slash"])
def test_paths_answer_with_and_without_a_trailing_slash(
    client_staff: APIClient, slash: str
) -> None:
    # when: the whole life of an order and a product, every path with or without the slash
    placed = client_staff.post(f"/orders{slash}", ORDER, format="json")
    order_id = json_body(placed)["order_id"]
    responses = [
        placed,
        client_staff.get(f"/orders{slash}"),
        client_staff.get(f"/orders/{order_id}{slash}"),
        client_staff.patch(
            f"/orders/{order_id}{slash}",
            {"products": [{"product_id": "SKU-1", "item_count": 2}]},
            format="json",
        ),
        client_staff.delete(f"/orders/{order_id}{slash}"),
        client_staff.get(f"/products{slash}"),
        client_staff.post(
            f"/products{slash}",
            {"product_id": "NEW", "name": "New", "product_count": 1},
            format="json",
        ),
        client_staff.get(f"/products/NEW{slash}"),
        client_staff.patch(f"/products/NEW{slash}", {"restock": 2}, format="json"),
    ]

    # then: no redirect anywhere, every call did its work
    assert [r.status_code for r in responses] == [200, 200, 200, 200, 200, 200, 201, 200, 200]
    assert stock() == {"NEW": 3, "SKU-1": 5}
    assert Order.objects.get().status == "cancelled"


@override_settings(ERROR_DOCS_BASE_URL="https://api.example.com/docs/errors")
def test_the_documentation_base_is_a_setting(client_user: APIClient) -> None:
    # when
    response = client_user.get(f"/orders/{MISSING_ORDER_ID}")

    # then
    assert json_body(response)["documentation"] == (
        "https://api.example.com/docs/errors#order-not-found"
    )


@pytest.mark.parametrize(
    ("path", "anchor"),
    [
        (f"/orders/{MISSING_ORDER_ID}", "order-not-found"),
        ("/products/NOPE", "product-not-found"),
        ("/nope", "not-found"),
        ("/orders?limit=0", "invalid-request"),
    ],
)
def test_every_documentation_link_is_an_absolute_url_with_an_anchor(
    client_user: APIClient, path: str, anchor: str
) -> None:
    # when
    body: dict[str, Any] = json_body(client_user.get(path))

    # then
    assert body["documentation"] == f"http://testserver/docs/errors#{anchor}"
