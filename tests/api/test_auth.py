"""401 and 403 (SPEC §1): who may call what, and the exact answers to everyone else."""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from orderservice.inventory.models import Product
from orderservice.orders.models import Order
from orderservice.tokens.services import token_issue
from tests.api.support import FORBIDDEN, UNAUTHENTICATED, assert_error, json_body
from tests.factories import ProductFactory, UserFactory, place_order, stock

pytestmark = pytest.mark.django_db

ORDER = {"products": [{"product_id": "SKU-1", "item_count": 1}]}

# Every endpoint of SPEC §2-§6, with a body that would succeed for an authorised caller.
ENDPOINTS = [
    pytest.param("get", "/orders", None, id="GET-orders"),
    pytest.param("post", "/orders", ORDER, id="POST-orders"),
    pytest.param("get", "/orders/{order}", None, id="GET-order"),
    pytest.param("patch", "/orders/{order}", ORDER, id="PATCH-order"),
    pytest.param("delete", "/orders/{order}", None, id="DELETE-order"),
    pytest.param("get", "/products", None, id="GET-products"),
    pytest.param("post", "/products", {"product_id": "NEW", "name": "New"}, id="POST-products"),
    pytest.param("get", "/products/SKU-1", None, id="GET-product"),
    pytest.param("patch", "/products/SKU-1", {"restock": 5}, id="PATCH-product"),
]

BAD_CREDENTIALS = [
    pytest.param(None, id="none"),
    pytest.param("", id="empty-header"),
    pytest.param("Token", id="token-without-key"),
    pytest.param("Token not-a-real-key", id="unknown-token"),
    pytest.param("Bearer not-a-real-key", id="unknown-bearer"),
    pytest.param("Token two words", id="token-with-spaces"),
    pytest.param("Basic YWxpY2U6c2VjcmV0", id="basic-scheme"),
    pytest.param("Digest username=alice", id="digest-scheme"),
    pytest.param("{key}", id="key-without-scheme"),
    pytest.param("Tokenx {key}", id="misspelt-scheme"),
]


@pytest.fixture
def order_id() -> str:
    ProductFactory.create(product_id="SKU-1", product_count=5)
    return place_order(user=UserFactory.create(), lines={"SKU-1": 2}).id


def _call(client: APIClient, method: str, path: str, body: Any) -> Any:
    kwargs = {"format": "json"} if body is not None else {}
    return (
        getattr(client, method)(path, body, **kwargs)
        if body is not None
        else getattr(client, method)(path)
    )


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
@pytest.mark.parametrize("authorization", BAD_CREDENTIALS)
def test_without_valid_credentials_every_endpoint_answers_401(
    order_id: str, method: str, path: str, body: Any, authorization: str | None
) -> None:
    # given
    key = token_issue(username="someone")
    client = APIClient()
    if authorization is not None:
        client.credentials(HTTP_AUTHORIZATION=authorization.format(key=key))
    before = stock()

    # when
    response = _call(client, method, path.format(order=order_id), body)

    # then
    assert_error(response, 401, UNAUTHENTICATED, "unauthenticated")
    assert response["WWW-Authenticate"] == "Token"
    assert stock() == before
    assert Order.objects.count() == 1
    assert Order.objects.get().status == "placed"
    assert Product.objects.count() == 1


@pytest.mark.parametrize("scheme", ["Token", "Bearer", "token", "bearer"])
@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_token_and_bearer_both_authenticate(
    order_id: str, method: str, path: str, body: Any, scheme: str
) -> None:
    # given a staff user, so that every endpoint is open to them
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{scheme} {token_issue(username='boss', staff=True)}")

    # when
    response = _call(client, method, path.format(order=order_id), body)

    # then
    assert response.status_code in (200, 201), response.content


def test_a_deactivated_users_token_is_refused() -> None:
    # given
    key = token_issue(username="gone")
    get_user_model().objects.filter(username="gone").update(is_active=False)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    # when
    response = client.get("/orders")

    # then
    assert_error(response, 401, UNAUTHENTICATED, "unauthenticated")
    assert response["WWW-Authenticate"] == "Token"


def test_a_token_identifies_its_own_user(make_client: Callable[..., APIClient]) -> None:
    # given
    ProductFactory.create(product_id="SKU-1", product_count=5)
    client = make_client("carol", scheme="Bearer")

    # when
    response = client.post("/orders", ORDER, format="json")

    # then
    assert response.status_code == 200
    assert Order.objects.get().user.username == "carol"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        pytest.param("post", "/products", {"product_id": "NEW", "name": "N"}, id="create"),
        pytest.param("post", "/products", {"product_id": "bad id"}, id="create-invalid-body"),
        pytest.param(
            "post", "/products", {"product_id": "SKU-1", "name": "N"}, id="create-existing"
        ),
        pytest.param("patch", "/products/SKU-1", {"restock": 5}, id="restock"),
        pytest.param("patch", "/products/SKU-1", {"product_count": 0}, id="set-count"),
        pytest.param("patch", "/products/SKU-1", {"name": "Renamed"}, id="rename"),
        pytest.param("patch", "/products/SKU-1", {"restock": -1}, id="invalid-body"),
        pytest.param("patch", "/products/NOPE", {"restock": 5}, id="unknown-product"),
    ],
)
def test_non_staff_cannot_write_products(
    client_user: APIClient, method: str, path: str, body: dict[str, Any]
) -> None:
    # given
    ProductFactory.create(product_id="SKU-1", name="Kettle", product_count=5)

    # when
    response = getattr(client_user, method)(path, body, format="json")

    # then
    assert_error(response, 403, FORBIDDEN, "permission-denied")
    assert list(Product.objects.values_list("product_id", "name", "product_count")) == [
        ("SKU-1", "Kettle", 5)
    ]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"order_status": "processing"}, id="allowed-transition"),
        pytest.param({"order_status": "cancelled"}, id="cancelled"),
        pytest.param({"order_status": "lost"}, id="invalid-status"),
        pytest.param({"order_status": "shipped", **ORDER}, id="with-products"),
    ],
)
def test_non_staff_cannot_set_order_status(client_user: APIClient, body: dict[str, Any]) -> None:
    # given the user's own order
    ProductFactory.create(product_id="SKU-1", product_count=5)
    order_id = json_body(client_user.post("/orders", ORDER, format="json"))["order_id"]

    # when
    response = client_user.patch(f"/orders/{order_id}", body, format="json")

    # then
    assert_error(response, 403, FORBIDDEN, "permission-denied")
    order = Order.objects.get()
    assert (order.status, order.version) == ("placed", 1)
    assert stock() == {"SKU-1": 4}
