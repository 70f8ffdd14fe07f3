"""POST /orders (SPEC §2): what is answered, and what is stored and taken from stock."""

from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from orderservice.inventory.models import Product
from orderservice.orders.models import Order, OrderItem
from tests.api.support import (
    INVALID,
    ORDER_ID,
    OUT_OF_STOCK,
    assert_error,
    etag,
    json_body,
)
from tests.factories import ProductFactory, stock
from tests.unit.validation_cases import PLACE_INVALID, PLACE_VALID

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def products() -> None:
    ProductFactory.create(product_id="SKU-1", product_count=5, price=Decimal("12.50"))
    ProductFactory.create(product_id="SKU-2", product_count=2, price=Decimal("0.10"))
    ProductFactory.create(product_id="SKU-3", product_count=0, price=Decimal("3.00"))


def _line(product_id: str, count: int) -> dict[str, Any]:
    return {"product_id": product_id, "item_count": count}


def _stored(order_id: str) -> list[tuple[str, int]]:
    items = OrderItem.objects.filter(order_id=order_id).order_by("id")
    return list(items.values_list("product_id", "item_count"))


def _nothing_stored() -> None:
    assert Order.objects.count() == 0
    assert OrderItem.objects.count() == 0
    assert stock() == {"SKU-1": 5, "SKU-2": 2, "SKU-3": 0}


@pytest.mark.parametrize("fulfillment", [None, "partial", "all_or_nothing"])
def test_an_order_the_stock_can_fill_is_placed(
    client_user: APIClient, fulfillment: str | None
) -> None:
    # given
    body: dict[str, Any] = {"products": [_line("SKU-2", 2), _line("SKU-1", 3)]}
    if fulfillment:
        body["fulfillment"] = fulfillment

    # when
    response = client_user.post("/orders", body, format="json")

    # then
    assert response.status_code == 200
    data = json_body(response)
    order_id = data["order_id"]
    assert ORDER_ID.fullmatch(order_id)
    assert data == {
        "message": "Success! Order placed",
        "order_id": order_id,
        "order_status": "placed",
        "products": [
            {
                "product_id": "SKU-2",
                "product_count": 2,
                "item_count": 2,
                "unit_price": "0.10",
                "line_total": "0.20",
            },
            {
                "product_id": "SKU-1",
                "product_count": 3,
                "item_count": 3,
                "unit_price": "12.50",
                "line_total": "37.50",
            },
        ],
        "total": "37.70",
        "currency": "USD",
        "out_of_stock": [],
    }
    assert response["Location"] == f"/orders/{order_id}"
    assert etag(response) == etag(client_user.get(f"/orders/{order_id}"))
    order = Order.objects.get()
    assert (order.id, order.user.username, order.status) == (order_id, "alice", "placed")
    assert _stored(order_id) == [("SKU-2", 2), ("SKU-1", 3)]
    assert stock() == {"SKU-1": 2, "SKU-2": 0, "SKU-3": 0}


def test_partial_fills_the_lines_that_fit_and_reports_the_others(client_user: APIClient) -> None:
    # when
    response = client_user.post(
        "/orders",
        {"products": [_line("SKU-1", 1), _line("SKU-2", 5), _line("SKU-3", 1)]},
        format="json",
    )

    # then
    assert response.status_code == 200
    data = json_body(response)
    assert data["products"] == [
        {
            "product_id": "SKU-1",
            "product_count": 1,
            "item_count": 1,
            "unit_price": "12.50",
            "line_total": "12.50",
        }
    ]
    assert data["total"] == "12.50"
    assert data["out_of_stock"] == [
        {"product_id": "SKU-2", "requested": 5, "available": 2},
        {"product_id": "SKU-3", "requested": 1, "available": 0},
    ]
    assert _stored(data["order_id"]) == [("SKU-1", 1)]
    assert stock() == {"SKU-1": 4, "SKU-2": 2, "SKU-3": 0}


@pytest.mark.parametrize(
    ("lines", "fulfillment", "short"),
    [
        pytest.param(
            [_line("SKU-2", 3)],
            "partial",
            [{"product_id": "SKU-2", "requested": 3, "available": 2}],
            id="partial-one-line",
        ),
        pytest.param(
            [_line("SKU-3", 1), _line("SKU-1", 6)],
            "partial",
            [
                {"product_id": "SKU-3", "requested": 1, "available": 0},
                {"product_id": "SKU-1", "requested": 6, "available": 5},
            ],
            id="partial-no-line-fits",
        ),
        pytest.param(
            [_line("SKU-1", 5), _line("SKU-2", 3)],
            "all_or_nothing",
            [{"product_id": "SKU-2", "requested": 3, "available": 2}],
            id="all-or-nothing-one-short",
        ),
    ],
)
def test_an_order_that_cannot_be_filled_is_404_and_takes_nothing(
    client_user: APIClient, lines: list[dict[str, Any]], fulfillment: str, short: list[Any]
) -> None:
    # when
    response = client_user.post(
        "/orders", {"products": lines, "fulfillment": fulfillment}, format="json"
    )

    # then
    assert_error(response, 404, OUT_OF_STOCK, "product-out-of-stock", {"out_of_stock": short})
    assert "Location" not in response
    assert "ETag" not in response
    _nothing_stored()


@pytest.mark.parametrize("fulfillment", ["partial", "all_or_nothing"])
def test_unknown_products_are_400_with_their_ids(client_user: APIClient, fulfillment: str) -> None:
    # when
    response = client_user.post(
        "/orders",
        {
            "products": [_line("SKU-1", 1), _line("NOPE-2", 1), _line("NOPE-1", 3)],
            "fulfillment": fulfillment,
        },
        format="json",
    )

    # then
    assert_error(
        response, 400, INVALID, "invalid-request", {"unknown_products": ["NOPE-1", "NOPE-2"]}
    )
    _nothing_stored()


def test_duplicate_lines_are_merged_before_anything_else(client_user: APIClient) -> None:
    # when
    response = client_user.post(
        "/orders",
        {"products": [_line("SKU-1", 2), _line("SKU-2", 1), _line("SKU-1", 3)]},
        format="json",
    )

    # then
    assert response.status_code == 200
    data = json_body(response)
    assert data["products"] == [
        {
            "product_id": "SKU-1",
            "product_count": 5,
            "item_count": 5,
            "unit_price": "12.50",
            "line_total": "62.50",
        },
        {
            "product_id": "SKU-2",
            "product_count": 1,
            "item_count": 1,
            "unit_price": "0.10",
            "line_total": "0.10",
        },
    ]
    assert data["total"] == "62.60"
    assert _stored(data["order_id"]) == [("SKU-1", 5), ("SKU-2", 1)]
    assert stock() == {"SKU-1": 0, "SKU-2": 1, "SKU-3": 0}


def test_merged_lines_are_checked_against_stock_as_one(client_user: APIClient) -> None:
    # when: 1 + 1 of SKU-2 fits, 2 + 1 does not
    response = client_user.post(
        "/orders",
        {"products": [_line("SKU-2", 2), _line("SKU-2", 1)], "fulfillment": "all_or_nothing"},
        format="json",
    )

    # then
    assert_error(
        response,
        404,
        OUT_OF_STOCK,
        "product-out-of-stock",
        {"out_of_stock": [{"product_id": "SKU-2", "requested": 3, "available": 2}]},
    )
    _nothing_stored()


def test_each_order_gets_its_own_opaque_id(client_user: APIClient) -> None:
    # when
    ids = [
        json_body(client_user.post("/orders", {"products": [_line("SKU-1", 1)]}, format="json"))[
            "order_id"
        ]
        for _ in range(3)
    ]

    # then
    assert len(set(ids)) == 3
    assert all(ORDER_ID.fullmatch(order_id) for order_id in ids)
    assert set(Order.objects.values_list("id", flat=True)) == set(ids)
    assert stock()["SKU-1"] == 2


@pytest.mark.parametrize(("body", "details"), PLACE_INVALID)
def test_an_invalid_body_is_400_and_stores_nothing(
    client_user: APIClient, body: Any, details: dict[str, list[str]]
) -> None:
    # when
    response = client_user.post("/orders", body, format="json")

    # then
    assert_error(response, 400, INVALID, "invalid-request", details)
    _nothing_stored()


@pytest.mark.parametrize(("body", "lines", "partial"), PLACE_VALID)
def test_a_valid_body_is_accepted(
    client_user: APIClient, body: Any, lines: dict[str, int], partial: bool
) -> None:
    # given every product the table names, with ample stock
    for product_id in lines:
        Product.objects.update_or_create(
            product_id=product_id, defaults={"name": product_id, "product_count": 20_000}
        )

    # when
    response = client_user.post("/orders", body, format="json")

    # then
    assert response.status_code == 200, response.content
    placed = {p["product_id"]: p["item_count"] for p in json_body(response)["products"]}
    assert placed == lines
    assert dict(_stored(json_body(response)["order_id"])) == lines
    assert {pid: 20_000 - n for pid, n in lines.items()} == {pid: stock()[pid] for pid in lines}
