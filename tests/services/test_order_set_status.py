"""orders.services.order_set_status: the staff status pipeline; `cancelled` returns stock once."""

import pytest

from orderservice.orders.exceptions import OrderConflict, OrderNotFound, OrderVersionMismatch
from orderservice.orders.models import Order
from orderservice.orders.services import order_cancel, order_set_status
from tests.factories import ProductFactory, StaffFactory, UserFactory, place_order, stock

pytestmark = pytest.mark.django_db


@pytest.fixture
def products() -> None:
    ProductFactory.create(product_id="A", product_count=5)


@pytest.mark.usefixtures("products")
@pytest.mark.parametrize(
    ("current", "target"),
    [("placed", "processing"), ("processing", "shipped"), ("shipped", "delivered")],
)
def test_forward_transitions_move_the_order_and_not_the_stock(current: str, target: str) -> None:
    # given
    order = place_order(user=UserFactory.create(), lines={"A": 2}, status=current)

    # when
    moved = order_set_status(order_id=order.id, user=StaffFactory.create(), status=target).order

    # then
    assert (moved.status, moved.version) == (target, order.version + 1)
    fresh = Order.objects.get()
    assert (fresh.status, fresh.version) == (target, order.version + 1)
    assert fresh.updated_at >= order.updated_at
    assert stock() == {"A": 3}


@pytest.mark.usefixtures("products")
@pytest.mark.parametrize("current", ["placed", "processing"])
def test_setting_cancelled_is_a_cancel_and_returns_stock_once(current: str) -> None:
    # given
    user = UserFactory.create()
    order = place_order(user=user, lines={"A": 2}, status=current)
    staff = StaffFactory.create()

    # when
    moved = order_set_status(order_id=order.id, user=staff, status="cancelled").order

    # then
    assert moved.status == "cancelled"
    assert stock() == {"A": 5}
    with pytest.raises(OrderConflict, match=r"^Order is already cancelled\.$"):
        order_set_status(order_id=order.id, user=staff, status="cancelled")
    with pytest.raises(OrderConflict, match=r"^Order is already cancelled\.$"):
        order_cancel(order_id=order.id, user=user)
    assert stock() == {"A": 5}


@pytest.mark.usefixtures("products")
@pytest.mark.parametrize(
    ("current", "target", "sentence"),
    [
        ("placed", "shipped", "Order cannot move from placed to shipped."),
        ("placed", "delivered", "Order cannot move from placed to delivered."),
        ("placed", "placed", "Order is already placed."),
        ("processing", "placed", "Order cannot move from processing to placed."),
        ("shipped", "processing", "Order cannot move from shipped to processing."),
        ("shipped", "cancelled", "Order is already shipped and can no longer be cancelled."),
        ("delivered", "shipped", "Order cannot move from delivered to shipped."),
        ("delivered", "cancelled", "Order is already delivered and can no longer be cancelled."),
        ("cancelled", "placed", "Order cannot move from cancelled to placed."),
        ("cancelled", "processing", "Order cannot move from cancelled to processing."),
    ],
)
def test_other_transitions_are_refused_and_change_nothing(
    current: str, target: str, sentence: str
) -> None:
    # given
    order = place_order(user=UserFactory.create(), lines={"A": 2}, status=current)
    before = stock()

    # when
    with pytest.raises(OrderConflict) as raised:
        order_set_status(order_id=order.id, user=StaffFactory.create(), status=target)

    # then
    assert str(raised.value) == sentence
    fresh = Order.objects.get()
    assert (fresh.status, fresh.version) == (current, order.version)
    assert stock() == before


@pytest.mark.usefixtures("products")
def test_a_stale_if_match_changes_nothing() -> None:
    # given
    order = place_order(user=UserFactory.create(), lines={"A": 2})

    # when
    with pytest.raises(OrderVersionMismatch):
        order_set_status(
            order_id=order.id,
            user=StaffFactory.create(),
            status="processing",
            if_match=frozenset({9}),
        )

    # then
    assert Order.objects.get().status == "placed"


@pytest.mark.usefixtures("products")
def test_a_matching_if_match_moves_the_order() -> None:
    # given
    order = place_order(user=UserFactory.create(), lines={"A": 2})

    # when
    order_set_status(
        order_id=order.id, user=StaffFactory.create(), status="processing", if_match=frozenset({1})
    )

    # then
    assert Order.objects.get().status == "processing"


def test_a_missing_order_is_not_found() -> None:
    # when / then
    with pytest.raises(OrderNotFound):
        order_set_status(
            order_id="ord_" + "f" * 24, user=StaffFactory.create(), status="processing"
        )


@pytest.mark.usefixtures("products")
def test_the_service_still_hides_other_users_orders_from_a_non_staff_caller() -> None:
    # given
    order = place_order(user=UserFactory.create(username="owner"), lines={"A": 2})

    # when
    with pytest.raises(OrderNotFound):
        order_set_status(
            order_id=order.id, user=UserFactory.create(username="other"), status="processing"
        )

    # then
    assert Order.objects.get().status == "placed"
