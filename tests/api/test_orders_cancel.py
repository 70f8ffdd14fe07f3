"""DELETE /orders/{order_id} (SPEC §4): the order is kept as cancelled, its stock returns once."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from orderservice.orders.models import Order
from tests.api.support import PRECONDITION_FAILED, assert_error, etag, json_body
from tests.factories import ProductFactory, UserFactory, place_order, stock

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def products() -> None:
    ProductFactory.create(product_id="SKU-1", product_count=10, price=Decimal("2.50"))
    ProductFactory.create(product_id="SKU-2", product_count=5, price=Decimal("1.00"))


def _alice() -> User:
    return UserFactory.create(username="alice")  # the user behind the client_user fixture


@pytest.mark.parametrize("status", ["placed", "processing"])
def test_cancel_keeps_the_order_and_returns_its_stock(client_user: APIClient, status: str) -> None:
    # given
    order = place_order(user=_alice(), lines={"SKU-1": 4, "SKU-2": 5}, status=status)
    before = etag(client_user.get(f"/orders/{order.id}"))
    assert stock() == {"SKU-1": 6, "SKU-2": 0}

    # when
    response = client_user.delete(f"/orders/{order.id}")

    # then
    assert response.status_code == 200
    assert json_body(response) == {"message": "Order successfully cancelled"}
    assert etag(response) != before
    shown = client_user.get(f"/orders/{order.id}")
    assert json_body(shown)["order_status"] == "cancelled"
    assert json_body(shown)["products"] == [
        {"product_id": "SKU-1", "item_count": 4, "unit_price": "2.50", "line_total": "10.00"},
        {"product_id": "SKU-2", "item_count": 5, "unit_price": "1.00", "line_total": "5.00"},
    ]
    assert json_body(shown)["total"] == "15.00"  # a cancelled order keeps its lines and total
    assert etag(shown) == etag(response)
    assert Order.objects.get().status == "cancelled"
    assert stock() == {"SKU-1": 10, "SKU-2": 5}


def test_cancelling_twice_is_409_and_returns_stock_once(client_user: APIClient) -> None:
    # given
    order = place_order(user=_alice(), lines={"SKU-1": 4})
    client_user.delete(f"/orders/{order.id}")

    # when
    response = client_user.delete(f"/orders/{order.id}/")

    # then
    assert_error(response, 409, "Order is already cancelled.", "conflict")
    assert stock() == {"SKU-1": 10, "SKU-2": 5}


@pytest.mark.parametrize("status", ["shipped", "delivered"])
def test_a_shipped_or_delivered_order_cannot_be_cancelled(
    client_user: APIClient, status: str
) -> None:
    # given
    order = place_order(user=_alice(), lines={"SKU-1": 4}, status=status)

    # when
    response = client_user.delete(f"/orders/{order.id}")

    # then
    assert_error(
        response, 409, f"Order is already {status} and can no longer be cancelled.", "conflict"
    )
    fresh = Order.objects.get()
    assert (fresh.status, fresh.version) == (status, order.version)
    assert stock() == {"SKU-1": 6, "SKU-2": 5}


def test_the_counts_returned_are_those_after_edits(client_user: APIClient) -> None:
    # given
    order = place_order(user=_alice(), lines={"SKU-1": 1})
    client_user.patch(
        f"/orders/{order.id}",
        {
            "products": [
                {"product_id": "SKU-1", "item_count": 7},
                {"product_id": "SKU-2", "item_count": 2},
            ]
        },
        format="json",
    )
    assert stock() == {"SKU-1": 3, "SKU-2": 3}

    # when
    response = client_user.delete(f"/orders/{order.id}")

    # then
    assert response.status_code == 200
    assert stock() == {"SKU-1": 10, "SKU-2": 5}


def test_staff_can_cancel_any_order(client_staff: APIClient) -> None:
    # given
    order = place_order(user=UserFactory.create(), lines={"SKU-1": 4})

    # when
    response = client_staff.delete(f"/orders/{order.id}")

    # then
    assert response.status_code == 200
    assert Order.objects.get().status == "cancelled"
    assert stock()["SKU-1"] == 10


def test_a_stale_if_match_is_412_and_cancels_nothing(client_user: APIClient) -> None:
    # given an order edited since the client read it
    order = place_order(user=_alice(), lines={"SKU-1": 4})
    stale = etag(client_user.get(f"/orders/{order.id}"))
    client_user.patch(
        f"/orders/{order.id}",
        {"products": [{"product_id": "SKU-1", "item_count": 5}]},
        format="json",
    )

    # when
    response = client_user.delete(f"/orders/{order.id}", HTTP_IF_MATCH=stale)

    # then
    assert_error(response, 412, PRECONDITION_FAILED, "precondition-failed")
    assert Order.objects.get().status == "placed"
    assert stock()["SKU-1"] == 5


@pytest.mark.parametrize("header", ["{tag}", "*"], ids=["current", "star"])
def test_a_matching_if_match_cancels(client_user: APIClient, header: str) -> None:
    # given
    order = place_order(user=_alice(), lines={"SKU-1": 4})
    current = etag(client_user.get(f"/orders/{order.id}"))

    # when
    response = client_user.delete(f"/orders/{order.id}", HTTP_IF_MATCH=header.format(tag=current))

    # then
    assert response.status_code == 200
    assert Order.objects.get().status == "cancelled"
    assert stock()["SKU-1"] == 10


def test_if_match_is_checked_before_the_status(client_user: APIClient) -> None:
    # given a cancelled order and a tag from before the cancel
    order = place_order(user=_alice(), lines={"SKU-1": 4})
    stale = etag(client_user.get(f"/orders/{order.id}"))
    client_user.delete(f"/orders/{order.id}")

    # when
    response = client_user.delete(f"/orders/{order.id}", HTTP_IF_MATCH=stale)

    # then preconditions come before the method's checks (RFC 9110 §13.2.2); stock came back once
    assert_error(response, 412, PRECONDITION_FAILED, "precondition-failed")
    assert stock()["SKU-1"] == 10
