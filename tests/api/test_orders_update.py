"""PATCH /orders/{order_id} (SPEC §3, §5): edits by line, staff status moves, If-Match."""

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from orderservice.orders.models import Order, OrderItem
from tests.api.support import (
    INVALID,
    OUT_OF_STOCK,
    PRECONDITION_FAILED,
    assert_error,
    etag,
    json_body,
)
from tests.factories import ProductFactory, UserFactory, place_order, stock
from tests.unit.validation_cases import EDIT_INVALID, STATUS_INVALID

pytestmark = pytest.mark.django_db

EMPTY = {
    "products": ["The change would leave the order without items; cancel it with DELETE instead."]
}


@pytest.fixture(autouse=True)
def products() -> None:
    ProductFactory.create(product_id="SKU-1", product_count=10, price=Decimal("4.00"))
    ProductFactory.create(product_id="SKU-2", product_count=10, price=Decimal("0.10"))
    ProductFactory.create(product_id="SKU-3", product_count=1, price=Decimal("99.99"))


def _alice() -> User:
    return UserFactory.create(username="alice")  # the user behind the client_user fixture


def _edit(**counts: int) -> dict[str, Any]:
    return {
        "products": [
            {"product_id": p.replace("_", "-"), "item_count": n} for p, n in counts.items()
        ]
    }


def _stored(order: Order) -> dict[str, int]:
    items = OrderItem.objects.filter(order=order).order_by("id")
    return dict(items.values_list("product_id", "item_count"))


def _version(order: Order) -> int:
    return Order.objects.values_list("version", flat=True).get(id=order.id)


# --- editing lines ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["placed", "processing"])
def test_an_edit_sets_lines_and_moves_stock_by_the_difference(
    client_user: APIClient, status: str
) -> None:
    # given an order of SKU-1: 2, SKU-2: 1 (stock SKU-1: 8, SKU-2: 9, SKU-3: 1)
    order = place_order(user=_alice(), lines={"SKU-1": 2, "SKU-2": 1}, status=status)
    before = etag(client_user.get(f"/orders/{order.id}"))

    # when: raise SKU-1, drop SKU-2, add SKU-3
    response = client_user.patch(
        f"/orders/{order.id}", _edit(SKU_1=5, SKU_2=0, SKU_3=1), format="json"
    )

    # then
    assert response.status_code == 200, response.content
    assert json_body(response) == {
        "message": "Order successfully updated",
        "order_id": order.id,
        "order_status": status,
        "products": [
            {"product_id": "SKU-1", "item_count": 5, "unit_price": "4.00", "line_total": "20.00"},
            {"product_id": "SKU-3", "item_count": 1, "unit_price": "99.99", "line_total": "99.99"},
        ],
        "total": "119.99",
        "currency": "USD",
        "changes": [
            {"product_id": "SKU-1", "from": 2, "to": 5},
            {"product_id": "SKU-2", "from": 1, "to": 0},
            {"product_id": "SKU-3", "from": 0, "to": 1},
        ],
    }
    assert etag(response) != before
    assert etag(response) == etag(client_user.get(f"/orders/{order.id}"))
    assert _stored(order) == {"SKU-1": 5, "SKU-3": 1}
    assert stock() == {"SKU-1": 5, "SKU-2": 10, "SKU-3": 0}


def test_products_not_named_stay_and_duplicates_are_merged(client_user: APIClient) -> None:
    # given
    order = place_order(user=_alice(), lines={"SKU-1": 2, "SKU-2": 1})

    # when: SKU-2 named twice, 1 + 2 = 3
    response = client_user.patch(
        f"/orders/{order.id}",
        {
            "products": [
                {"product_id": "SKU-2", "item_count": 1},
                {"product_id": "SKU-2", "item_count": 2},
            ]
        },
        format="json",
    )

    # then
    assert response.status_code == 200
    assert json_body(response)["products"] == [
        {"product_id": "SKU-1", "item_count": 2, "unit_price": "4.00", "line_total": "8.00"},
        {"product_id": "SKU-2", "item_count": 3, "unit_price": "0.10", "line_total": "0.30"},
    ]
    assert json_body(response)["total"] == "8.30"
    assert json_body(response)["changes"] == [{"product_id": "SKU-2", "from": 1, "to": 3}]
    assert _stored(order) == {"SKU-1": 2, "SKU-2": 3}
    assert stock() == {"SKU-1": 8, "SKU-2": 7, "SKU-3": 1}


def test_an_edit_that_changes_nothing_reports_no_changes(client_user: APIClient) -> None:
    # given
    order = place_order(user=_alice(), lines={"SKU-1": 2})

    # when
    response = client_user.patch(f"/orders/{order.id}", _edit(SKU_1=2, SKU_2=0), format="json")

    # then
    assert response.status_code == 200
    assert json_body(response)["changes"] == []
    assert json_body(response)["products"] == [
        {"product_id": "SKU-1", "item_count": 2, "unit_price": "4.00", "line_total": "8.00"}
    ]
    assert json_body(response)["total"] == "8.00"
    etag(response)
    assert _stored(order) == {"SKU-1": 2}
    assert stock()["SKU-1"] == 8


def test_an_increase_the_stock_cannot_fill_is_404_and_changes_nothing(
    client_user: APIClient,
) -> None:
    # given an order of SKU-1: 2, SKU-3: 1 (stock SKU-1: 8, SKU-3: 0)
    order = place_order(user=_alice(), lines={"SKU-1": 2, "SKU-3": 1})

    # when: SKU-2 would fit; SKU-1 needs 9 more of 8, SKU-3 one more of 0
    response = client_user.patch(
        f"/orders/{order.id}", _edit(SKU_2=4, SKU_1=11, SKU_3=2), format="json"
    )

    # then `requested` is the extra units the change needs
    assert_error(
        response,
        404,
        OUT_OF_STOCK,
        "product-out-of-stock",
        {
            "out_of_stock": [
                {"product_id": "SKU-1", "requested": 9, "available": 8},
                {"product_id": "SKU-3", "requested": 1, "available": 0},
            ]
        },
    )
    assert _stored(order) == {"SKU-1": 2, "SKU-3": 1}
    assert stock() == {"SKU-1": 8, "SKU-2": 10, "SKU-3": 0}
    assert _version(order) == 1


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(_edit(SKU_1=0), id="the-only-line"),
        pytest.param(_edit(SKU_1=0, SKU_2=0), id="every-line"),
        pytest.param(_edit(SKU_1=0, SKU_3=0), id="with-a-zero-for-another-product"),
    ],
)
def test_an_edit_that_would_empty_the_order_is_400(
    client_user: APIClient, edit: dict[str, Any]
) -> None:
    # given
    order = place_order(user=_alice(), lines={"SKU-1": 2})

    # when
    response = client_user.patch(f"/orders/{order.id}", edit, format="json")

    # then
    assert_error(response, 400, INVALID, "invalid-request", EMPTY)
    assert _stored(order) == {"SKU-1": 2}
    assert stock()["SKU-1"] == 8
    assert _version(order) == 1


@pytest.mark.parametrize(
    ("edit", "unknown"),
    [
        pytest.param(_edit(SKU_1=3, NOPE=1), ["NOPE"], id="added"),
        pytest.param(_edit(SKU_1=3, NOPE=0), ["NOPE"], id="set-to-zero"),
    ],
)
def test_an_unknown_product_is_400_with_its_id(
    client_user: APIClient, edit: dict[str, Any], unknown: list[str]
) -> None:
    # given
    order = place_order(user=_alice(), lines={"SKU-1": 2})

    # when
    response = client_user.patch(f"/orders/{order.id}", edit, format="json")

    # then
    assert_error(response, 400, INVALID, "invalid-request", {"unknown_products": unknown})
    assert _stored(order) == {"SKU-1": 2}
    assert stock()["SKU-1"] == 8


@pytest.mark.parametrize("status", ["shipped", "delivered", "cancelled"])
def test_an_order_past_processing_cannot_be_edited(client_user: APIClient, status: str) -> None:
    # given
    order = place_order(user=_alice(), lines={"SKU-1": 2}, status=status)
    before = stock()

    # when
    response = client_user.patch(f"/orders/{order.id}", _edit(SKU_1=3), format="json")

    # then
    assert_error(response, 409, f"Order is {status} and can no longer be edited.", "conflict")
    assert _stored(order) == {"SKU-1": 2}
    assert stock() == before
    assert _version(order) == order.version


@pytest.mark.parametrize(("body", "details"), EDIT_INVALID)
def test_an_invalid_edit_is_400(
    client_user: APIClient, body: Any, details: dict[str, list[str]]
) -> None:
    # given
    order = place_order(user=_alice(), lines={"SKU-1": 2})

    # when
    response = client_user.patch(f"/orders/{order.id}", body, format="json")

    # then
    assert_error(response, 400, INVALID, "invalid-request", details)
    assert _stored(order) == {"SKU-1": 2}
    assert stock()["SKU-1"] == 8


def test_staff_can_edit_any_order(client_staff: APIClient) -> None:
    # given
    order = place_order(user=UserFactory.create(), lines={"SKU-1": 2})

    # when
    response = client_staff.patch(f"/orders/{order.id}", _edit(SKU_1=4), format="json")

    # then
    assert response.status_code == 200
    assert _stored(order) == {"SKU-1": 4}
    assert stock()["SKU-1"] == 6


# --- If-Match --------------------------------------------------------------------------------


def test_a_stale_if_match_is_412_and_changes_nothing(client_user: APIClient) -> None:
    # given an order edited since the client read it
    order = place_order(user=_alice(), lines={"SKU-1": 2})
    stale = etag(client_user.get(f"/orders/{order.id}"))
    client_user.patch(f"/orders/{order.id}", _edit(SKU_1=3), format="json")

    # when
    response = client_user.patch(
        f"/orders/{order.id}", _edit(SKU_1=9), format="json", HTTP_IF_MATCH=stale
    )

    # then
    assert_error(response, 412, PRECONDITION_FAILED, "precondition-failed")
    assert _stored(order) == {"SKU-1": 3}
    assert stock()["SKU-1"] == 7
    assert _version(order) == 2


@pytest.mark.parametrize(
    "header",
    ['"nonsense"', "garbage", "W/{tag}", '"999"'],
    ids=["other-tag", "unquoted", "weak-current", "future"],
)
def test_an_if_match_naming_no_current_tag_is_412(client_user: APIClient, header: str) -> None:
    # given
    order = place_order(user=_alice(), lines={"SKU-1": 2})
    current = etag(client_user.get(f"/orders/{order.id}"))

    # when
    response = client_user.patch(
        f"/orders/{order.id}",
        _edit(SKU_1=5),
        format="json",
        HTTP_IF_MATCH=header.format(tag=current),
    )

    # then
    assert_error(response, 412, PRECONDITION_FAILED, "precondition-failed")
    assert _stored(order) == {"SKU-1": 2}
    assert stock()["SKU-1"] == 8


@pytest.mark.parametrize(
    "header", ["{tag}", "*", '"0", {tag}'], ids=["current", "star", "list-with-current"]
)
def test_a_matching_if_match_lets_the_edit_through(client_user: APIClient, header: str) -> None:
    # given
    order = place_order(user=_alice(), lines={"SKU-1": 2})
    current = etag(client_user.get(f"/orders/{order.id}"))

    # when
    response = client_user.patch(
        f"/orders/{order.id}",
        _edit(SKU_1=5),
        format="json",
        HTTP_IF_MATCH=header.format(tag=current),
    )

    # then
    assert response.status_code == 200, response.content
    assert _stored(order) == {"SKU-1": 5}
    assert stock()["SKU-1"] == 5


def test_a_stale_if_match_on_a_status_change_is_412(client_staff: APIClient) -> None:
    # given
    order = place_order(user=UserFactory.create(), lines={"SKU-1": 2})
    stale = etag(client_staff.get(f"/orders/{order.id}"))
    client_staff.patch(f"/orders/{order.id}", _edit(SKU_1=1), format="json")

    # when
    response = client_staff.patch(
        f"/orders/{order.id}", {"order_status": "cancelled"}, format="json", HTTP_IF_MATCH=stale
    )

    # then
    assert_error(response, 412, PRECONDITION_FAILED, "precondition-failed")
    assert Order.objects.get().status == "placed"
    assert stock()["SKU-1"] == 9


# --- staff status changes --------------------------------------------------------------------


def test_staff_move_an_order_along_the_pipeline(client_staff: APIClient) -> None:
    # given
    order = place_order(user=UserFactory.create(), lines={"SKU-1": 2})
    path = f"/orders/{order.id}"
    tags = [etag(client_staff.get(path))]

    for status in ["processing", "shipped", "delivered"]:
        # when
        response = client_staff.patch(path, {"order_status": status}, format="json")

        # then
        assert response.status_code == 200, response.content
        order.refresh_from_db()
        assert order.status == status
        assert json_body(response) == {
            "order_id": order.id,
            "order_status": status,
            "products": [
                {"product_id": "SKU-1", "item_count": 2, "unit_price": "4.00", "line_total": "8.00"}
            ],
            "total": "8.00",
            "currency": "USD",
            "created_at": order.created_at.isoformat().replace("+00:00", "Z"),
            "updated_at": order.updated_at.isoformat().replace("+00:00", "Z"),
        }
        tags.append(etag(response))
        assert stock()["SKU-1"] == 8

    assert len(set(tags)) == 4


@pytest.mark.parametrize("status", ["placed", "processing"])
def test_staff_cancelling_by_patch_returns_stock_once(
    client_staff: APIClient, client_user: APIClient, status: str
) -> None:
    # given
    order = place_order(user=_alice(), lines={"SKU-1": 2, "SKU-3": 1}, status=status)

    # when
    response = client_staff.patch(
        f"/orders/{order.id}", {"order_status": "cancelled"}, format="json"
    )
    again = client_staff.patch(f"/orders/{order.id}", {"order_status": "cancelled"}, format="json")
    delete = client_user.delete(f"/orders/{order.id}")

    # then
    assert response.status_code == 200
    assert json_body(response)["order_status"] == "cancelled"
    assert_error(again, 409, "Order is already cancelled.", "conflict")
    assert_error(delete, 409, "Order is already cancelled.", "conflict")
    assert Order.objects.get().status == "cancelled"
    assert stock() == {"SKU-1": 10, "SKU-2": 10, "SKU-3": 1}


@pytest.mark.parametrize(
    ("current", "target", "sentence"),
    [
        ("placed", "shipped", "Order cannot move from placed to shipped."),
        ("placed", "delivered", "Order cannot move from placed to delivered."),
        ("placed", "placed", "Order is already placed."),
        ("processing", "placed", "Order cannot move from processing to placed."),
        ("shipped", "cancelled", "Order is already shipped and can no longer be cancelled."),
        ("delivered", "processing", "Order cannot move from delivered to processing."),
        ("delivered", "cancelled", "Order is already delivered and can no longer be cancelled."),
        ("cancelled", "processing", "Order cannot move from cancelled to processing."),
    ],
)
def test_a_transition_outside_the_pipeline_is_409(
    client_staff: APIClient, current: str, target: str, sentence: str
) -> None:
    # given
    order = place_order(user=UserFactory.create(), lines={"SKU-1": 2}, status=current)
    before = stock()

    # when
    response = client_staff.patch(f"/orders/{order.id}", {"order_status": target}, format="json")

    # then
    assert_error(response, 409, sentence, "conflict")
    fresh = Order.objects.get()
    assert (fresh.status, fresh.version) == (current, order.version)
    assert stock() == before


@pytest.mark.parametrize(("body", "details"), STATUS_INVALID)
def test_an_invalid_status_body_from_staff_is_400(
    client_staff: APIClient, body: Any, details: dict[str, list[str]]
) -> None:
    # given
    order = place_order(user=UserFactory.create(), lines={"SKU-1": 2})

    # when
    response = client_staff.patch(f"/orders/{order.id}", body, format="json")

    # then
    assert_error(response, 400, INVALID, "invalid-request", details)
    fresh = Order.objects.get()
    assert (fresh.status, fresh.version) == ("placed", 1)
    assert _stored(order) == {"SKU-1": 2}
