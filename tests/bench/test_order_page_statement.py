"""GET /orders is one SQL statement on PostgreSQL (orders/selectors.order_page_read_for_user): a
page's orders, their visibility and their items together, whatever the page size, filter or
cursor; and each page answers byte for byte what the ORM's read (order_list_for_user, then
order_lines_priced for each order) answers. On SQLite the ORM reads it (the orders, then their
items)."""

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from orderservice.inventory.models import Product
from orderservice.orders import selectors
from orderservice.orders.selectors import OrderRead

pytestmark = pytest.mark.django_db

PRODUCTS = [f"SKU-{i:02d}" for i in range(12)]
STATEMENTS = 1 if connection.vendor == "postgresql" else 2


@pytest.fixture(autouse=True)
def _products() -> None:
    Product.objects.bulk_create(
        Product(product_id=pid, name=f"Product {pid}", product_count=10_000, price=f"{i}.25")
        for i, pid in enumerate(PRODUCTS, 1)
    )


def _place(client: APIClient, n: int) -> str:
    """An order of 1 to 3 lines, not in product id order."""
    lines = [
        {"product_id": PRODUCTS[(n * 5 + k * 7) % len(PRODUCTS)], "item_count": k + 1}
        for k in range(1 + n % 3)
    ]
    response = client.post("/orders", {"products": lines}, format="json")
    assert response.status_code == 200, response.json()
    order_id: str = response.json()["order_id"]
    return order_id


def _get(client: APIClient, url: str) -> tuple[int, Any, str]:
    """The statements the read ran, its JSON and its raw body."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(queries.captured_queries), response.json(), response.content.decode()


def _orm_read(**page: Any) -> list[OrderRead]:
    return [
        OrderRead(order, *selectors.order_lines_priced(order))
        for order in selectors.order_list_for_user(**page)
    ]


def _walk(client: APIClient, url: str) -> tuple[list[int], list[str], list[str]]:
    """Every page from `url` on: the statements of each, the order ids, the raw bodies."""
    statements, ids, bodies = [], [], []
    while url:
        count, body, raw = _get(client, url)
        statements.append(count)
        ids += [order["order_id"] for order in body["results"]]
        bodies.append(raw)
        url = body["next"]
        assert len(bodies) <= 200, "the cursor does not move on"
    return statements, ids, bodies


@pytest.mark.parametrize("limit", [1, 2, 7, 100])
@pytest.mark.parametrize("who", ["user", "staff"])
@pytest.mark.parametrize("status", [None, "cancelled"])
def test_every_page_is_one_statement_and_answers_as_the_orm(
    make_client: Any, monkeypatch: pytest.MonkeyPatch, limit: int, who: str, status: str | None
) -> None:
    # given: alice's and bob's orders, some cancelled
    alice, bob = make_client("alice"), make_client("bob")
    placed = {"alice": [_place(alice, n) for n in range(9)], "bob": [_place(bob, 3)]}
    for order_id in placed["alice"][::3] + placed["bob"]:
        assert alice.delete(f"/orders/{order_id}").status_code in (200, 404)
        assert bob.delete(f"/orders/{order_id}").status_code in (200, 404)
    client = alice if who == "user" else make_client("boss", staff=True)
    client.get(f"/products/{PRODUCTS[0]}")  # warms the per-process token cache, as under load
    url = f"/orders?limit={limit}" + (f"&status={status}" if status else "")

    # when
    statements, ids, bodies = _walk(client, url)

    # then: every order visible once, each page one statement; the look-ahead (limit + 1) gives
    # no `next` after the last order
    visible = placed["alice"] + (placed["bob"] if who == "staff" else [])
    if status:
        visible = placed["alice"][::3] + (placed["bob"] if who == "staff" else [])
    assert sorted(ids) == sorted(visible)
    assert len(statements) == -(-len(visible) // limit)
    assert set(statements) == {STATEMENTS}

    # and the ORM's read answers the same pages, byte for byte
    monkeypatch.setattr(selectors, "order_page_read_for_user", _orm_read)
    assert _walk(client, url)[2] == bodies


def test_a_page_of_1_order_or_of_100_orders_is_one_statement(client_user: APIClient) -> None:
    # given
    _place(client_user, 0)
    client_user.get(f"/products/{PRODUCTS[0]}")  # warms the per-process token cache

    # when
    one = _get(client_user, "/orders?limit=100")
    for n in range(1, 100):
        _place(client_user, n)
    hundred = _get(client_user, "/orders?limit=100")

    # then
    assert (len(one[1]["results"]), len(hundred[1]["results"])) == (1, 100)
    assert one[0] == hundred[0] == STATEMENTS
