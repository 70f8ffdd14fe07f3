"""orders.services.order_cancel: the order is kept as cancelled and its stock returns once."""

import pytest

from orderservice.orders.exceptions import OrderConflict, OrderNotFound, OrderVersionMismatch
from orderservice.orders.models import Order
from orderservice.orders.services import order_cancel, order_update_lines
from tests.factories import ProductFactory, StaffFactory, UserFactory, place_order, stock

pytestmark = pytest.mark.django_db

MISSING_ID = "ord_" + "0" * 24


@pytest.fixture
def products() -> None:
    ProductFactory.create(product_id="A", product_count=5)
    ProductFactory.create(product_id="B", product_count=2)


@pytest.mark.usefixtures("products")
@pytest.mark.parametrize("status", ["placed", "processing"])
def test_cancel_returns_every_item_to_stock(status: str) -> None:
    # given
    user = UserFactory.create()
    order = place_order(user=user, lines={"A": 3, "B": 1}, status=status)
    assert stock() == {"A": 2, "B": 1}

    # when
    cancelled = order_cancel(order_id=order.id, user=user)

    # then
    assert cancelled.status == "cancelled"
    assert cancelled.version == order.version + 1
    order.refresh_from_db()
    assert (order.status, order.version) == ("cancelled", cancelled.version)
    assert order.items.count() == 2  # the order is kept, with its lines
    assert stock() == {"A": 5, "B": 2}


@pytest.mark.usefixtures("products")
def test_cancel_returns_the_counts_as_edited() -> None:
    # given
    user = UserFactory.create()
    order = place_order(user=user, lines={"A": 1})
    order_update_lines(order_id=order.id, user=user, lines={"A": 4, "B": 2})
    assert stock() == {"A": 1, "B": 0}

    # when
    order_cancel(order_id=order.id, user=user)

    # then
    assert stock() == {"A": 5, "B": 2}


@pytest.mark.usefixtures("products")
def test_second_cancel_is_refused_and_returns_nothing() -> None:
    # given
    user = UserFactory.create()
    order = place_order(user=user, lines={"A": 3})
    order_cancel(order_id=order.id, user=user)

    # when
    with pytest.raises(OrderConflict, match=r"^Order is already cancelled\.$"):
        order_cancel(order_id=order.id, user=user)

    # then
    assert stock() == {"A": 5, "B": 2}
    assert Order.objects.get().version == 2


@pytest.mark.usefixtures("products")
@pytest.mark.parametrize("status", ["shipped", "delivered"])
def test_shipped_and_delivered_orders_cannot_be_cancelled(status: str) -> None:
    # given
    user = UserFactory.create()
    order = place_order(user=user, lines={"A": 3}, status=status)

    # when
    with pytest.raises(OrderConflict) as raised:
        order_cancel(order_id=order.id, user=user)

    # then
    assert str(raised.value) == f"Order is already {status} and can no longer be cancelled."
    fresh = Order.objects.get()
    assert (fresh.status, fresh.version) == (status, order.version)
    assert stock() == {"A": 2, "B": 2}


@pytest.mark.usefixtures("products")
def test_another_users_order_is_not_found_and_stays_as_it_was() -> None:
    # given
    order = place_order(user=UserFactory.create(username="owner"), lines={"A": 3})

    # when
    with pytest.raises(OrderNotFound):
        order_cancel(order_id=order.id, user=UserFactory.create(username="intruder"))

    # then
    assert Order.objects.get().status == "placed"
    assert stock() == {"A": 2, "B": 2}


@pytest.mark.usefixtures("products")
def test_staff_can_cancel_any_order() -> None:
    # given
    order = place_order(user=UserFactory.create(), lines={"A": 3})

    # when
    order_cancel(order_id=order.id, user=StaffFactory.create())

    # then
    assert Order.objects.get().status == "cancelled"
    assert stock() == {"A": 5, "B": 2}


def test_a_missing_order_is_not_found() -> None:
    # when / then
    with pytest.raises(OrderNotFound):
        order_cancel(order_id=MISSING_ID, user=UserFactory.create())


@pytest.mark.usefixtures("products")
@pytest.mark.parametrize(
    "if_match", [frozenset({2}), frozenset({0, 3}), frozenset()], ids=["stale", "others", "none"]
)
def test_a_stale_if_match_changes_nothing(if_match: frozenset[int]) -> None:
    # given
    user = UserFactory.create()
    order = place_order(user=user, lines={"A": 3})

    # when
    with pytest.raises(OrderVersionMismatch):
        order_cancel(order_id=order.id, user=user, if_match=if_match)

    # then
    fresh = Order.objects.get()
    assert (fresh.status, fresh.version) == ("placed", 1)
    assert stock() == {"A": 2, "B": 2}


@pytest.mark.usefixtures("products")
@pytest.mark.parametrize("if_match", [frozenset({1}), frozenset({7, 1}), None])
def test_a_matching_or_absent_if_match_cancels(if_match: frozenset[int] | None) -> None:
    # given
    user = UserFactory.create()
    order = place_order(user=user, lines={"A": 3})

    # when
    order_cancel(order_id=order.id, user=user, if_match=if_match)

    # then
    assert Order.objects.get().status == "cancelled"
    assert stock() == {"A": 5, "B": 2}
