"""Every timestamp the services write comes from orderservice.common.clock.now(), to the µs."""

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from orderservice.common import clock
from orderservice.inventory.models import Product
from orderservice.inventory.services import product_create, product_restock, product_update
from orderservice.orders.models import Order
from orderservice.orders.placement import order_place
from orderservice.orders.services import order_cancel, order_set_status, order_update_lines
from tests.factories import ProductFactory, StaffFactory, UserFactory

# Real transactions: on PostgreSQL an order is placed by its autocommit statement, as in production.
pytestmark = pytest.mark.django_db(transaction=True)


def _at(day: int) -> datetime:
    # Microseconds set: a time rounded or taken from another clock would not compare equal.
    return datetime(2031, 3, day, 12, 34, 56, 123456 + day, tzinfo=UTC)


@pytest.fixture
def set_clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], None]:
    def set_to(moment: datetime) -> None:
        monkeypatch.setattr(clock, "now", lambda: moment)

    return set_to


def _order_times(order_id: str) -> tuple[datetime, datetime]:
    order = Order.objects.get(id=order_id)
    return order.created_at, order.updated_at


def _updated() -> dict[str, datetime]:
    return dict(Product.objects.values_list("product_id", "updated_at"))


def test_placing_editing_moving_and_cancelling_an_order_write_the_clock_time(
    set_clock: Callable[[datetime], None],
) -> None:
    # given: products stamped before the clock is fixed
    for product_id in ("A", "B", "C", "D"):
        ProductFactory.create(product_id=product_id, product_count=10)
    untouched = _updated()["D"]
    user, staff = UserFactory.create(), StaffFactory.create()

    # when: placed on day 1
    set_clock(_at(1))
    order_id = order_place(user=user, lines={"A": 2, "B": 1}, partial=False).order.id

    # then
    assert _order_times(order_id) == (_at(1), _at(1))
    assert {pid: _updated()[pid] for pid in "AB"} == {"A": _at(1), "B": _at(1)}

    # when: edited on day 2 (A given back in part, C taken, B unchanged)
    set_clock(_at(2))
    order_update_lines(order_id=order_id, user=user, lines={"A": 1, "C": 3})

    # then
    assert _order_times(order_id) == (_at(1), _at(2))
    assert {pid: _updated()[pid] for pid in "ABC"} == {"A": _at(2), "B": _at(1), "C": _at(2)}

    # when: moved to processing on day 3 (no stock moves)
    set_clock(_at(3))
    order_set_status(order_id=order_id, user=staff, status="processing")

    # then
    assert _order_times(order_id) == (_at(1), _at(3))
    assert {pid: _updated()[pid] for pid in "ABC"} == {"A": _at(2), "B": _at(1), "C": _at(2)}

    # when: cancelled on day 4 (every line back to stock)
    set_clock(_at(4))
    order_cancel(order_id=order_id, user=user)

    # then
    assert _order_times(order_id) == (_at(1), _at(4))
    assert _updated() == {"A": _at(4), "B": _at(4), "C": _at(4), "D": untouched}


def test_creating_restocking_and_updating_a_product_write_the_clock_time(
    set_clock: Callable[[datetime], None],
) -> None:
    # when: created on day 1
    set_clock(_at(1))
    product_create(product_id="A", name="Apple", product_count=1)

    # then
    product = Product.objects.get(product_id="A")
    assert (product.created_at, product.updated_at) == (_at(1), _at(1))

    # when: restocked on day 2
    set_clock(_at(2))
    product_restock(product_id="A", amount=5)

    # then
    assert _updated() == {"A": _at(2)}

    # when: renamed and counted on day 3
    set_clock(_at(3))
    product_update(product_id="A", name="Apples", product_count=4)

    # then
    product = Product.objects.get(product_id="A")
    assert (product.created_at, product.updated_at) == (_at(1), _at(3))
