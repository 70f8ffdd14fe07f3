"""GET /orders/{id} is one SQL statement on PostgreSQL (orders/selectors.order_read_for_user):
the order, its visibility and its items together, on the fast path and through DRF alike, and
both answer the same. On SQLite the ORM reads it (the order, then its items)."""

import json
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from orderservice.inventory.models import Product

pytestmark = pytest.mark.django_db

PRODUCTS = ["SKU-C", "SKU-A", "SKU-B"]
STATEMENTS = 1 if connection.vendor == "postgresql" else 2


@pytest.fixture(autouse=True)
def _products() -> None:
    Product.objects.bulk_create(
        Product(product_id=pid, name=f"Product {pid}", product_count=10_000) for pid in PRODUCTS
    )


def _place(client: APIClient) -> str:
    lines = [{"product_id": pid, "item_count": n} for n, pid in enumerate(PRODUCTS, 1)]
    response = client.post("/orders", {"products": lines}, format="json")
    assert response.status_code == 200, response.json()
    order_id: str = response.json()["order_id"]
    return order_id


def _read(client: APIClient, order_id: str) -> tuple[int, tuple[int, str, str | None]]:
    """The statements the read ran, and its status, body and ETag."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/orders/{order_id}")
    return len(queries.captured_queries), (
        response.status_code,
        response.content.decode(),
        response.get("ETag"),
    )


def _lines(body: str) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = json.loads(body)["products"]
    return lines


def _fast_and_drf(
    client: APIClient, order_id: str, dispatches: list[str]
) -> tuple[int, tuple[int, str, str | None]]:
    """The read on the fast path, then through DRF: the same statements, the same answer."""
    client.get("/products/SKU-A")  # warms the per-process token cache, as under load
    before = len(dispatches)
    fast = _read(client, order_id)
    assert len(dispatches) == before  # the fast path answered
    with override_settings(FAST_PATH=False):
        drf = _read(client, order_id)
    assert len(dispatches) == before + 1  # DRF answered
    assert fast == drf
    return fast


def test_reading_an_own_order_is_one_statement(
    client_user: APIClient, dispatches: list[str]
) -> None:
    # given
    order_id = _place(client_user)

    # when
    statements, (status, body, etag) = _fast_and_drf(client_user, order_id, dispatches)

    # then: the lines as placed, in that order
    assert status == 200, body
    assert etag == '"1"'
    assert [line["product_id"] for line in _lines(body)] == PRODUCTS
    assert statements == STATEMENTS


def test_staff_reading_another_users_order_is_one_statement(
    client_user: APIClient, client_staff: APIClient, dispatches: list[str]
) -> None:
    order_id = _place(client_user)

    statements, (status, body, _) = _fast_and_drf(client_staff, order_id, dispatches)

    assert status == 200, body
    assert [line["item_count"] for line in _lines(body)] == [1, 2, 3]
    assert statements == STATEMENTS


def test_another_users_order_is_not_found_in_one_statement(
    client_user: APIClient, make_client: Any, dispatches: list[str]
) -> None:
    order_id = _place(client_user)

    statements, (status, body, etag) = _fast_and_drf(make_client("mallory"), order_id, dispatches)

    assert status == 404, body
    assert etag is None
    assert statements == 1  # the order is not found: the items are not read, even by the ORM
