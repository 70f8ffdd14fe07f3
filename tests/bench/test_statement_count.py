"""A constant number of SQL statements per request, whatever its size: no N+1 on the hot paths.

Each test warms the per-process caches first (the token lookup), as they are under load, then
compares a small request with a large one of the same kind.
"""

from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from orderservice.inventory.models import Product

pytestmark = pytest.mark.django_db

PRODUCTS = [f"SKU-{i:03d}" for i in range(120)]


@pytest.fixture(autouse=True)
def _products() -> None:
    Product.objects.bulk_create(
        Product(product_id=pid, name=f"Product {pid}", product_count=10_000) for pid in PRODUCTS
    )


def _statements(call: Callable[[], object]) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = call()
    assert getattr(response, "status_code", None) == 200, getattr(response, "content", response)
    return len(queries.captured_queries)


def _place(client: APIClient, lines: dict[str, int]) -> str:
    response = client.post(
        "/orders",
        {"products": [{"product_id": pid, "item_count": n} for pid, n in lines.items()]},
        format="json",
    )
    assert response.status_code == 200, response.json()
    order_id: str = response.json()["order_id"]
    return order_id


def _patch(client: APIClient, order_id: str, lines: dict[str, int]) -> object:
    return client.patch(
        f"/orders/{order_id}",
        {"products": [{"product_id": pid, "item_count": n} for pid, n in lines.items()]},
        format="json",
    )


def _warm(client: APIClient) -> None:
    assert client.get(f"/products/{PRODUCTS[0]}").status_code == 200


def test_placing_1_line_or_100_lines_costs_the_same_statements(client_user):
    # given
    _warm(client_user)

    # when
    one = _statements(
        lambda: client_user.post(
            "/orders",
            {"products": [{"product_id": PRODUCTS[0], "item_count": 1}]},
            format="json",
        )
    )
    hundred = _statements(
        lambda: client_user.post(
            "/orders",
            {"products": [{"product_id": pid, "item_count": 1} for pid in PRODUCTS[:100]]},
            format="json",
        )
    )

    # then
    assert one == hundred


# (order lines before, the small change, the large change): each pair changes lines the same way.
EDITS = {
    "resize": (
        dict.fromkeys(PRODUCTS[:50], 1),
        dict.fromkeys(PRODUCTS[:1], 2),
        dict.fromkeys(PRODUCTS[:50], 2),
    ),
    "add": (
        dict.fromkeys(PRODUCTS[:1], 1),
        dict.fromkeys(PRODUCTS[50:51], 1),
        dict.fromkeys(PRODUCTS[50:100], 1),
    ),
    "remove": (
        dict.fromkeys(PRODUCTS[:51], 1),
        dict.fromkeys(PRODUCTS[:1], 0),
        dict.fromkeys(PRODUCTS[:50], 0),
    ),
    "mixed": (
        dict.fromkeys(PRODUCTS[:60], 1),
        {PRODUCTS[0]: 0, PRODUCTS[1]: 3, PRODUCTS[100]: 1},
        {
            **dict.fromkeys(PRODUCTS[:17], 0),
            **dict.fromkeys(PRODUCTS[17:34], 3),
            **dict.fromkeys(PRODUCTS[100:116], 1),
        },
    ),
}


@pytest.mark.parametrize("kind", list(EDITS))
def test_editing_1_line_or_50_lines_costs_the_same_statements(client_user, kind):
    # given: two equal orders
    before, small, large = EDITS[kind]
    first, second = _place(client_user, before), _place(client_user, before)
    _warm(client_user)

    # when
    one = _statements(lambda: _patch(client_user, first, small))
    fifty = _statements(lambda: _patch(client_user, second, large))

    # then
    assert one == fifty


def test_listing_1_order_or_20_orders_costs_the_same_statements(client_user):
    # given
    _place(client_user, dict.fromkeys(PRODUCTS[:3], 1))
    _warm(client_user)

    # when
    one = _statements(lambda: client_user.get("/orders?limit=20"))
    for i in range(19):
        _place(client_user, dict.fromkeys(PRODUCTS[3 * i + 3 : 3 * i + 6], 1))
    twenty = _statements(lambda: client_user.get("/orders?limit=20"))

    # then: on PostgreSQL one statement, the orders with their items (orders/selectors.py's
    # order_page_read_for_user); on SQLite the ORM's two, the orders then their items
    assert len(client_user.get("/orders?limit=20").json()["results"]) == 20
    assert one == twenty == (1 if connection.vendor == "postgresql" else 2)


def test_reading_an_order_of_1_line_or_100_lines_costs_the_same_statements(client_user):
    # given
    small = _place(client_user, dict.fromkeys(PRODUCTS[:1], 1))
    large = _place(client_user, dict.fromkeys(PRODUCTS[:100], 1))
    _warm(client_user)

    # when
    one = _statements(lambda: client_user.get(f"/orders/{small}"))
    hundred = _statements(lambda: client_user.get(f"/orders/{large}"))

    # then
    assert one == hundred


@pytest.mark.parametrize("change", ["edit", "cancel", "status"])
def test_changing_ones_own_order_reads_no_user_row(make_client, change):
    # given: the owner's order (staff, so that it may set a status too)
    client = make_client("owner", staff=True)
    order_id = _place(client, {PRODUCTS[0]: 1})
    _warm(client)
    calls: dict[str, Callable[[], object]] = {
        "edit": lambda: _patch(client, order_id, {PRODUCTS[0]: 2}),
        "cancel": lambda: client.delete(f"/orders/{order_id}"),
        "status": lambda: client.patch(
            f"/orders/{order_id}", {"order_status": "processing"}, format="json"
        ),
    }

    # when
    with CaptureQueriesContext(connection) as queries:
        response = calls[change]()

    # then: its event names the owner, who is the caller: no query for the owner's name
    assert getattr(response, "status_code", None) == 200, getattr(response, "content", response)
    assert not [q["sql"] for q in queries.captured_queries if '"auth_user"' in q["sql"]]
