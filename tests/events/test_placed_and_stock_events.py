"""order.placed and the stock-status crossings (SPEC §12): each written exactly once by the change
that committed it (on PostgreSQL by the one statement itself), with the body GET shows then;
refusals and replays write none."""

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from orderservice.common.db import in_transaction
from orderservice.events.models import Event
from orderservice.events.outbox import json_time
from orderservice.inventory.services import MovementReason, stock_exchange
from orderservice.inventory.stock_status import stock_crossing
from orderservice.orders import placement
from orderservice.orders.placement import order_place
from tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


def _new_events(action: Callable[[], Any]) -> list[Event]:
    last = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
    action()
    return list(Event.objects.filter(id__gt=last).order_by("id"))


def _typed(events: list[Event]) -> list[tuple[str, Any]]:
    """(type, data) of each event, order.placed first (SQLite writes the stock's events first)."""
    typed = [(e.type, json.loads(e.data)) for e in events]
    return sorted(typed, key=lambda event: event[0] != "order.placed")


def _order(
    client: APIClient, lines: dict[str, int], fulfillment: str = "all_or_nothing", **headers: str
) -> Any:
    body = {
        "products": [{"product_id": p, "item_count": n} for p, n in lines.items()],
        "fulfillment": fulfillment,
    }
    return client.post("/orders", body, format="json", headers=headers)


def _product(client: APIClient, product_id: str) -> Any:
    response = client.get(f"/products/{product_id}")
    assert response.status_code == 200
    return response.json()


@pytest.fixture
def products() -> None:
    ProductFactory(product_id="SKU-1", product_count=10, price="12.50", low_stock_threshold=5)
    ProductFactory(product_id="SKU-2", product_count=10, price="0.99", low_stock_threshold=5)
    ProductFactory(product_id="SKU-3", product_count=3, price="1000000.00", low_stock_threshold=1)


# --- order.placed --------------------------------------------------------------------------------


@pytest.mark.usefixtures("products")
def test_placing_writes_one_order_placed_with_the_get_body(client_user: APIClient):
    placed: list[Any] = []

    events = _new_events(
        lambda: placed.append(_order(client_user, {"SKU-2": 3, "SKU-1": 1, "SKU-3": 1}))
    )

    assert placed[0].status_code == 200, placed[0].content
    order_id = placed[0].json()["order_id"]
    get = client_user.get(f"/orders/{order_id}")
    assert [e.type for e in events] == ["order.placed"]
    assert json.loads(events[0].data) == {**get.json(), "user": "alice", "version": 1}
    assert events[0].data.startswith('{"order_id"')  # the keys in GET's order
    assert json.loads(events[0].data)["created_at"] == json_time(events[0].created_at)
    assert json.loads(events[0].data)["total"] == "1000015.47"


@pytest.mark.usefixtures("products")
def test_a_partial_order_is_placed_with_the_lines_taken(client_user: APIClient):
    placed: list[Any] = []

    events = _new_events(
        lambda: placed.append(_order(client_user, {"SKU-1": 2, "SKU-3": 9}, fulfillment="partial"))
    )

    order_id = placed[0].json()["order_id"]
    data = json.loads(events[0].data)
    assert [e.type for e in events] == ["order.placed"]
    assert data == {**client_user.get(f"/orders/{order_id}").json(), "user": "alice", "version": 1}
    assert [line["product_id"] for line in data["products"]] == ["SKU-1"]


@pytest.mark.usefixtures("products")
@pytest.mark.parametrize(
    ("lines", "status"),
    [({"SKU-1": 11}, 404), ({"SKU-1": 1, "SKU-3": 4}, 404), ({"NOPE": 1}, 400)],
)
def test_a_refused_placement_writes_none(client_user: APIClient, lines: dict[str, int], status):
    responses: list[Any] = []

    events = _new_events(lambda: responses.append(_order(client_user, lines)))

    assert responses[0].status_code == status
    assert events == []


@pytest.mark.usefixtures("products")
def test_an_idempotent_replay_writes_none(client_user: APIClient):
    key = {"Idempotency-Key": "k-1"}
    first = _new_events(lambda: _order(client_user, {"SKU-1": 1}, **key))

    replay = _new_events(lambda: _order(client_user, {"SKU-1": 1}, **key))

    assert [e.type for e in first] == ["order.placed"]
    assert replay == []


@pytest.mark.usefixtures("products")
@override_settings(EVENTS_ENABLED=False)
def test_events_off_writes_none(client_user: APIClient, client_staff: APIClient):
    def changes() -> None:
        order_id = _order(client_user, {"SKU-1": 10, "SKU-3": 1}).json()["order_id"]
        client_user.delete(f"/orders/{order_id}")
        client_staff.patch("/products/SKU-1", {"product_count": 0}, format="json")
        client_staff.patch("/products/SKU-1", {"restock": 1}, format="json")

    assert _new_events(changes) == []


# --- stock-status crossings ----------------------------------------------------------------------


@pytest.mark.usefixtures("products")
def test_placing_to_zero_is_out_of_stock_with_the_product_as_committed(client_user: APIClient):
    events = _new_events(lambda: _order(client_user, {"SKU-3": 3}))

    assert _typed(events)[1:] == [("product.out_of_stock", _product(client_user, "SKU-3"))]
    assert _typed(events)[1][1]["stock_status"] == "out_of_stock"


@pytest.mark.usefixtures("products")
def test_one_event_per_product_crossing_in_one_order(client_user: APIClient):
    events = _new_events(lambda: _order(client_user, {"SKU-3": 3, "SKU-2": 5, "SKU-1": 4}))

    assert _typed(events)[1:] == [
        ("product.low_stock", _product(client_user, "SKU-2")),
        ("product.out_of_stock", _product(client_user, "SKU-3")),
    ]


@pytest.mark.usefixtures("products")
def test_a_change_within_a_status_writes_no_crossing(client_user: APIClient, client_staff):
    def changes() -> None:
        _order(client_user, {"SKU-1": 4})  # 10 -> 6: in stock
        client_staff.patch("/products/SKU-3", {"restock": 1}, format="json")  # 3 -> 4: in stock
        client_staff.patch("/products/SKU-1", {"product_count": 7}, format="json")

    assert [e.type for e in _new_events(changes)] == ["order.placed"]


@pytest.mark.usefixtures("products")
def test_restock_from_zero_is_back_in_stock_whatever_the_new_status(client_user, client_staff):
    _order(client_user, {"SKU-3": 3})

    low = _new_events(lambda: client_staff.patch("/products/SKU-3", {"restock": 1}, format="json"))
    _order(client_user, {"SKU-3": 1})
    high = _new_events(
        lambda: client_staff.patch("/products/SKU-3", {"restock": 50}, format="json")
    )

    assert _typed(low) == [("product.back_in_stock", {**_product(client_user, "SKU-3"),
                                                      "product_count": 1,
                                                      "stock_status": "low_stock"})]  # fmt: skip
    assert _typed(high) == [("product.back_in_stock", _product(client_user, "SKU-3"))]


@pytest.mark.usefixtures("products")
def test_staff_changes_cross_as_orders_do(client_user: APIClient, client_staff: APIClient):
    def adjust(body: dict[str, Any]) -> Any:
        return client_staff.post("/products/SKU-1/adjustments", body, format="json")

    low = _new_events(lambda: adjust({"delta": -5, "reason": "damaged"}))  # 10 -> 5
    out = _new_events(lambda: adjust({"set_to": 0, "reason": "correction"}))
    back = _new_events(lambda: adjust({"delta": 9, "reason": "found"}))
    out_by_patch = _new_events(
        lambda: client_staff.patch("/products/SKU-1", {"product_count": 0}, format="json")
    )

    assert [e.type for e in low + out + back + out_by_patch] == [
        "product.low_stock",
        "product.out_of_stock",
        "product.back_in_stock",
        "product.out_of_stock",
    ]
    assert json.loads(out_by_patch[0].data) == _product(client_user, "SKU-1")


def test_creating_a_product_with_stock_is_back_in_stock(client_staff: APIClient):
    def create(product_id: str, count: int) -> Any:
        body = {"product_id": product_id, "name": "Kettle", "product_count": count}
        response = client_staff.post("/products", body, format="json")
        assert response.status_code == 201, response.content
        return response

    empty = _new_events(lambda: create("NEW-0", 0))
    stocked = _new_events(lambda: create("NEW-1", 3))

    assert empty == []
    assert _typed(stocked) == [("product.back_in_stock", _product(client_staff, "NEW-1"))]


@pytest.mark.usefixtures("products")
def test_cancels_and_edits_cross_in_their_transaction(client_user: APIClient):
    order_id = _order(client_user, {"SKU-3": 1}).json()["order_id"]

    def edit(count: int) -> Any:
        body = {"products": [{"product_id": "SKU-3", "item_count": count}]}
        return client_user.patch(f"/orders/{order_id}", body, format="json")

    out = _new_events(lambda: edit(3))  # 2 -> 0
    back = _new_events(lambda: client_user.delete(f"/orders/{order_id}"))  # 0 -> 3

    assert [e.type for e in out] == ["product.out_of_stock", "order.updated"]
    assert json.loads(out[0].data) == {**_product(client_user, "SKU-3"), "product_count": 0,
                                       "stock_status": "out_of_stock"}  # fmt: skip
    assert _typed(back)[0] == ("product.back_in_stock", _product(client_user, "SKU-3"))
    assert [e.type for e in back] == ["product.back_in_stock", "order.cancelled"]


CROSSINGS = pytest.mark.parametrize(
    ("before", "after", "threshold", "expected"),
    [
        (3, 0, 5, "product.out_of_stock"),
        (10, 0, 5, "product.out_of_stock"),
        (0, 1, 5, "product.back_in_stock"),
        (0, 10, 5, "product.back_in_stock"),
        (10, 5, 5, "product.low_stock"),
        (6, 1, 5, "product.low_stock"),
        (10, 6, 5, None),
        (5, 6, 5, None),
        (4, 2, 5, None),
        (0, 0, 5, None),
        (1, 0, 0, "product.out_of_stock"),
        (2, 1, 0, None),  # a threshold of 0: never low
    ],
)


@CROSSINGS
def test_the_crossing_rule(before: int, after: int, threshold: int, expected: str | None):
    assert stock_crossing(before, after, threshold) == expected


@pytest.mark.postgres
@pytest.mark.usefixtures("products")
@pytest.mark.parametrize("enabled", [True, False])
def test_one_statement_writes_the_events_and_off_leaves_its_cte_out(enabled: bool):
    user = UserFactory.create(username="dave")

    with override_settings(EVENTS_ENABLED=enabled), CaptureQueriesContext(connection) as queries:
        events = _new_events(lambda: order_place(user=user, lines={"SKU-3": 3}, partial=False))

    # One statement places the order and writes its events: the call of its function
    # (common/db/stored.py), the one with the events cte when they are on.
    statement = placement._PLACE_ORDER_WITH_EVENTS if enabled else placement._PLACE_ORDER
    placing = [q["sql"] for q in queries.captured_queries if "place_order" in q["sql"]]
    assert len(placing) == 1
    assert statement.function_name in placing[0]
    assert ("INSERT INTO orders_order" in statement.sql, "events_written" in statement.sql) == (
        True,
        enabled,
    )
    expected = ["order.placed", "product.out_of_stock"] if enabled else []
    assert [e.type for e in events] == expected


@CROSSINGS
def test_the_exchange_statement_applies_the_same_rule(before, after, threshold, expected):
    ProductFactory(product_id="X", product_count=before, low_stock_threshold=threshold)
    take = {"X": max(before - after, 0)}
    give_back = {"X": max(after - before, 0)}
    reason = MovementReason.CORRECTION

    events = _new_events(
        in_transaction(lambda: stock_exchange(take=take, give_back=give_back, reason=reason))
    )

    assert [e.type for e in events] == ([expected] if expected else [])
    if expected:
        assert json.loads(events[0].data)["product_count"] == after
