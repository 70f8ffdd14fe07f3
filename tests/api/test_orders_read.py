"""GET /orders/{order_id} and GET /orders (SPEC §3): bodies, ETags, privacy and pagination."""

import base64
from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from orderservice.api.pagination import cursor_for
from orderservice.common import clock
from orderservice.orders.models import Order
from tests.api.support import (
    INVALID,
    MISSING_ORDER_ID,
    ORDER_NOT_FOUND,
    assert_error,
    etag,
    json_body,
    walk_pages,
)
from tests.factories import ProductFactory, UserFactory, place_order, stock

pytestmark = pytest.mark.django_db

BAD_CURSOR = {"cursor": ["Not a cursor from a `next` link."]}
BAD_LIMIT = {"limit": ["Must be an integer from 1 to 100."]}
BAD_STATUS = {"status": ["Must be one of: placed, processing, shipped, delivered, cancelled."]}
PRICES = {"SKU-1": "19.99", "SKU-2": "0.10"}


@pytest.fixture(autouse=True)
def products() -> None:
    ProductFactory.create(product_id="SKU-1", product_count=1000, price=Decimal(PRICES["SKU-1"]))
    ProductFactory.create(product_id="SKU-2", product_count=1000, price=Decimal(PRICES["SKU-2"]))


def _alice() -> User:
    return UserFactory.create(username="alice")  # the user behind the client_user fixture


def _time(value: Any) -> str:
    return str(value.isoformat().replace("+00:00", "Z"))


def _body(order: Order, lines: dict[str, int]) -> dict[str, Any]:
    order.refresh_from_db()
    return {
        "order_id": order.id,
        "order_status": order.status,
        "products": [
            {
                "product_id": p,
                "item_count": n,
                "unit_price": PRICES[p],
                "line_total": str(Decimal(PRICES[p]) * n),
            }
            for p, n in lines.items()
        ],
        "total": str(sum((Decimal(PRICES[p]) * n for p, n in lines.items()), Decimal("0.00"))),
        "currency": "USD",
        "created_at": _time(order.created_at),
        "updated_at": _time(order.updated_at),
    }


def _cursor(position: Any) -> str:
    return cursor_for(position)  # signed: what is tested is the shape check behind the signature


# --- one order -------------------------------------------------------------------------------


def test_an_order_is_shown_with_its_etag(client_user: APIClient) -> None:
    # given
    order = place_order(user=_alice(), lines={"SKU-2": 3, "SKU-1": 1})

    # when
    response = client_user.get(f"/orders/{order.id}")

    # then
    assert response.status_code == 200
    assert json_body(response) == _body(order, {"SKU-2": 3, "SKU-1": 1})
    etag(response)


def test_a_cancelled_order_stays_visible(client_user: APIClient) -> None:
    # given
    order = place_order(user=_alice(), lines={"SKU-1": 1}, status="cancelled")

    # when
    response = client_user.get(f"/orders/{order.id}")

    # then
    assert response.status_code == 200
    assert json_body(response) == _body(order, {"SKU-1": 1})
    assert json_body(response)["order_status"] == "cancelled"


def test_the_etag_changes_on_every_change(client_user: APIClient, client_staff: APIClient) -> None:
    # given
    placed = client_user.post(
        "/orders", {"products": [{"product_id": "SKU-1", "item_count": 1}]}, format="json"
    )
    path = f"/orders/{json_body(placed)['order_id']}"
    tags = [etag(placed), etag(client_user.get(path))]

    # when
    edit = {"products": [{"product_id": "SKU-1", "item_count": 2}]}
    tags += [etag(client_user.patch(path, edit, format="json")), etag(client_user.get(path))]
    moved = client_staff.patch(path, {"order_status": "processing"}, format="json")
    tags += [etag(moved), etag(client_user.get(path))]
    tags += [etag(client_user.delete(path)), etag(client_user.get(path))]

    # then each change gave a new tag, and every GET repeated the latest one
    assert tags[0::2] == tags[1::2]
    assert len(set(tags)) == 4
    assert Order.objects.get().status == "cancelled"
    assert stock()["SKU-1"] == 1000


def test_staff_see_any_order(client_staff: APIClient) -> None:
    # given
    order = place_order(user=UserFactory.create(), lines={"SKU-1": 1})

    # when
    response = client_staff.get(f"/orders/{order.id}")

    # then
    assert response.status_code == 200
    assert json_body(response) == _body(order, {"SKU-1": 1})


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("get", None),
        ("patch", {"products": [{"product_id": "SKU-1", "item_count": 5}]}),
        ("delete", None),
    ],
)
def test_another_users_order_answers_exactly_like_a_missing_one(
    client_user: APIClient, method: str, body: dict[str, Any] | None
) -> None:
    # given
    theirs = place_order(user=UserFactory.create(username="bob"), lines={"SKU-1": 2})

    # when
    kwargs: dict[str, Any] = {"format": "json"} if body else {}
    other = getattr(client_user, method)(f"/orders/{theirs.id}", body, **kwargs)
    missing = getattr(client_user, method)(f"/orders/{MISSING_ORDER_ID}", body, **kwargs)

    # then
    assert_error(other, 404, ORDER_NOT_FOUND, "order-not-found")
    assert other.content == missing.content
    assert other.status_code == missing.status_code
    assert "ETag" not in other
    assert "ETag" not in missing
    fresh = Order.objects.get()
    assert (fresh.status, fresh.version) == ("placed", 1)
    assert stock()["SKU-1"] == 998


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
@pytest.mark.parametrize(
    "order_id",
    [
        "123",
        "ord_",
        "ord_" + "0" * 23,
        "ord_" + "0" * 25,
        "ord_" + "A" * 24,
        "ord_" + "g" * 24,
        "ORD_" + "0" * 24,
        "order_" + "0" * 24,
        "ord%20" + "0" * 24,
        "x" * 300,
    ],
)
def test_an_order_id_not_of_the_servers_format_is_400(
    client_user: APIClient, method: str, order_id: str
) -> None:
    # given
    place_order(user=_alice(), lines={"SKU-1": 2})
    body = {"products": [{"product_id": "SKU-1", "item_count": 5}]} if method == "patch" else None

    # when
    response = getattr(client_user, method)(f"/orders/{order_id}", body, format="json")

    # then
    assert_error(
        response,
        400,
        INVALID,
        "invalid-request",
        {"order_id": ["Not an order id of this service."]},
    )
    assert Order.objects.get().version == 1
    assert stock()["SKU-1"] == 998


# --- the list --------------------------------------------------------------------------------


def test_a_user_lists_only_their_own_orders_newest_first(client_user: APIClient) -> None:
    # given
    alice, bob = _alice(), UserFactory.create(username="bob")
    first = place_order(user=alice, lines={"SKU-1": 1})
    place_order(user=bob, lines={"SKU-1": 1})
    second = place_order(user=alice, lines={"SKU-2": 2}, status="shipped")

    # when
    response = client_user.get("/orders")

    # then
    assert response.status_code == 200
    assert json_body(response) == {
        "results": [_body(second, {"SKU-2": 2}), _body(first, {"SKU-1": 1})],
        "next": None,
    }


def test_staff_list_everyones_orders(client_staff: APIClient) -> None:
    # given
    orders = [place_order(user=UserFactory.create(), lines={"SKU-1": 1}) for _ in range(3)]

    # when
    response = client_staff.get("/orders")

    # then
    assert [o["order_id"] for o in json_body(response)["results"]] == [o.id for o in orders][::-1]


def test_no_orders_is_an_empty_page(client_user: APIClient) -> None:
    # given
    place_order(user=UserFactory.create(username="bob"), lines={"SKU-1": 1})

    # when
    response = client_user.get("/orders/")

    # then
    assert response.status_code == 200
    assert json_body(response) == {"results": [], "next": None}


def test_the_default_page_is_20_orders(client_user: APIClient) -> None:
    # given
    alice = _alice()
    ids = [place_order(user=alice, lines={"SKU-1": 1}).id for _ in range(21)][::-1]

    # when
    first = json_body(client_user.get("/orders"))
    second = json_body(client_user.get(first["next"]))

    # then
    assert [o["order_id"] for o in first["results"]] == ids[:20]
    assert [o["order_id"] for o in second["results"]] == ids[20:]
    assert second["next"] is None


@pytest.mark.parametrize("limit", [1, 2, 3, 7, 8, 100])
def test_next_links_walk_every_order_once_even_with_equal_timestamps(
    client_user: APIClient, limit: int
) -> None:
    # given 7 orders, 4 of them created in the same instant (ties are broken by id)
    alice = _alice()
    orders = [place_order(user=alice, lines={"SKU-1": 1}) for _ in range(7)]
    same = clock.now() - timedelta(hours=1)
    Order.objects.filter(id__in=[o.id for o in orders[1:5]]).update(created_at=same)
    expected = list(Order.objects.order_by("-created_at", "-id").values_list("id", flat=True))

    # when
    ids, pages = walk_pages(client_user, f"/orders?limit={limit}", "order_id")

    # then
    assert ids == expected
    assert pages == max(1, -(-7 // limit))


def test_the_status_filter_holds_across_pages(client_user: APIClient) -> None:
    # given
    alice = _alice()
    shipped = [place_order(user=alice, lines={"SKU-1": 1}, status="shipped").id for _ in range(5)]
    for _ in range(4):
        place_order(user=alice, lines={"SKU-1": 1})
    place_order(user=UserFactory.create(username="bob"), lines={"SKU-1": 1}, status="shipped")

    # when
    ids, pages = walk_pages(client_user, "/orders?status=shipped&limit=2", "order_id")

    # then
    assert ids == shipped[::-1]
    assert pages == 3


@pytest.mark.parametrize("status", ["placed", "processing", "shipped", "delivered", "cancelled"])
def test_every_status_can_be_filtered(client_staff: APIClient, status: str) -> None:
    # given one order in each status
    user = UserFactory.create()
    by_status = {
        s: place_order(user=user, lines={"SKU-1": 1}, status=s).id
        for s in ["placed", "processing", "shipped", "delivered", "cancelled"]
    }

    # when
    response = client_staff.get(f"/orders?status={status}")

    # then
    assert [o["order_id"] for o in json_body(response)["results"]] == [by_status[status]]


@pytest.mark.parametrize("limit", ["0", "101", "-1", "1.5", "abc", "", " 5", "1e2", "0x10"])
def test_a_limit_out_of_range_is_400(client_user: APIClient, limit: str) -> None:
    # when
    response = client_user.get("/orders", {"limit": limit})

    # then
    assert_error(response, 400, INVALID, "invalid-request", BAD_LIMIT)


@pytest.mark.parametrize("limit", [1, 100])
def test_limits_at_the_bounds_are_accepted(client_user: APIClient, limit: int) -> None:
    # given
    alice = _alice()
    for _ in range(2):
        place_order(user=alice, lines={"SKU-1": 1})

    # when
    response = client_user.get("/orders", {"limit": limit})

    # then
    assert response.status_code == 200
    assert len(json_body(response)["results"]) == min(limit, 2)


@pytest.mark.parametrize("status", ["lost", "", "PLACED", "placed,shipped"])
def test_an_unknown_status_is_400(client_user: APIClient, status: str) -> None:
    # when
    response = client_user.get("/orders", {"status": status})

    # then
    assert_error(response, 400, INVALID, "invalid-request", BAD_STATUS)


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param("garbage!", id="not-base64"),
        pytest.param("", id="empty"),
        pytest.param(base64.urlsafe_b64encode(b"\xff\xfe").decode(), id="not-utf8"),
        pytest.param(_cursor({"a": 1}), id="an-object"),
        pytest.param(_cursor([1, 2]), id="numbers"),
        pytest.param(_cursor(["2026-01-01T00:00:00+00:00"]), id="one-element"),
        pytest.param(_cursor(["2026-01-01T00:00:00+00:00", "ord_x", "z"]), id="three-elements"),
        pytest.param(_cursor(["yesterday", MISSING_ORDER_ID]), id="not-a-time"),
        pytest.param(_cursor(["2026-01-01T00:00:00", MISSING_ORDER_ID]), id="time-without-zone"),
    ],
)
def test_a_bad_cursor_is_400(client_user: APIClient, cursor: str) -> None:
    # when
    response = client_user.get("/orders", {"cursor": cursor})

    # then
    assert_error(response, 400, INVALID, "invalid-request", BAD_CURSOR)


def test_the_next_link_keeps_the_other_parameters(client_user: APIClient) -> None:
    # given
    alice = _alice()
    for _ in range(3):
        place_order(user=alice, lines={"SKU-1": 1})

    # when
    page = json_body(client_user.get("/orders", {"limit": "2", "status": "placed"}))

    # then
    url = urlsplit(page["next"])
    assert (url.scheme, url.netloc, url.path) == ("http", "testserver", "/orders")
    query = parse_qs(url.query)
    assert query["limit"] == ["2"]
    assert query["status"] == ["placed"]
    assert len(query["cursor"]) == 1
