"""orders.services.order_update_lines: set counts, stock moves by the difference; all or nothing."""

import pytest

from orderservice.inventory.exceptions import OutOfStock, Shortage, UnknownProducts
from orderservice.orders.exceptions import (
    EmptyOrder,
    OrderConflict,
    OrderNotFound,
    OrderVersionMismatch,
)
from orderservice.orders.lines import LineChange
from orderservice.orders.models import Order, OrderItem
from orderservice.orders.services import order_update_lines
from tests.factories import ProductFactory, StaffFactory, UserFactory, place_order, stock

pytestmark = pytest.mark.django_db


@pytest.fixture
def products() -> None:
    ProductFactory.create(product_id="A", product_count=10)
    ProductFactory.create(product_id="B", product_count=10)
    ProductFactory.create(product_id="C", product_count=1)


def _lines(order: Order) -> dict[str, int]:
    items = OrderItem.objects.filter(order=order).order_by("id")
    return dict(items.values_list("product_id", "item_count"))


@pytest.mark.usefixtures("products")
def test_edit_sets_counts_and_moves_stock_by_the_difference() -> None:
    # given an order of A:4, B:2 (stock A:6, B:8, C:1)
    user = UserFactory.create()
    order = place_order(user=user, lines={"A": 4, "B": 2})

    # when: raise A, drop B, add C
    updated = order_update_lines(order_id=order.id, user=user, lines={"A": 7, "B": 0, "C": 1})

    # then
    assert updated.lines == {"A": 7, "C": 1}
    assert updated.changes == [
        LineChange("A", 4, 7),
        LineChange("B", 2, 0),
        LineChange("C", 0, 1),
    ]
    assert _lines(order) == {"A": 7, "C": 1}
    assert stock() == {"A": 3, "B": 10, "C": 0}
    order.refresh_from_db()
    assert (order.status, order.version) == ("placed", 2)
    assert updated.order.version == 2


@pytest.mark.usefixtures("products")
def test_products_not_named_stay_as_they_are() -> None:
    # given
    user = UserFactory.create()
    order = place_order(user=user, lines={"A": 4, "B": 2})

    # when
    updated = order_update_lines(order_id=order.id, user=user, lines={"B": 1})

    # then
    assert updated.lines == {"A": 4, "B": 1}
    assert updated.changes == [LineChange("B", 2, 1)]
    assert _lines(order) == {"A": 4, "B": 1}
    assert stock() == {"A": 6, "B": 9, "C": 1}


@pytest.mark.usefixtures("products")
def test_an_edit_that_changes_nothing_keeps_the_version() -> None:
    # given
    user = UserFactory.create()
    order = place_order(user=user, lines={"A": 4})

    # when
    updated = order_update_lines(order_id=order.id, user=user, lines={"A": 4, "B": 0})

    # then
    assert updated.changes == []
    assert updated.lines == {"A": 4}
    order.refresh_from_db()
    assert order.version == 1
    assert stock() == {"A": 6, "B": 10, "C": 1}


@pytest.mark.usefixtures("products")
def test_an_increase_the_stock_cannot_fill_changes_nothing() -> None:
    # given an order of A:4, C:1 (stock A:6, C:0)
    user = UserFactory.create()
    order = place_order(user=user, lines={"A": 4, "C": 1})

    # when: B would fit, A needs 7 more of 6, C one more of 0
    with pytest.raises(OutOfStock) as raised:
        order_update_lines(order_id=order.id, user=user, lines={"B": 3, "A": 11, "C": 2})

    # then `requested` is the extra units the change needs
    assert raised.value.shortages == [
        Shortage("A", requested=7, available=6),
        Shortage("C", requested=1, available=0),
    ]
    assert _lines(order) == {"A": 4, "C": 1}
    assert stock() == {"A": 6, "B": 10, "C": 0}
    order.refresh_from_db()
    assert order.version == 1


@pytest.mark.usefixtures("products")
def test_an_increase_may_take_the_last_unit() -> None:
    # given
    user = UserFactory.create()
    order = place_order(user=user, lines={"A": 4})

    # when
    order_update_lines(order_id=order.id, user=user, lines={"A": 10})

    # then
    assert stock()["A"] == 0


@pytest.mark.usefixtures("products")
def test_an_edit_that_empties_the_order_is_refused() -> None:
    # given
    user = UserFactory.create()
    order = place_order(user=user, lines={"A": 4, "B": 1})

    # when
    with pytest.raises(EmptyOrder):
        order_update_lines(order_id=order.id, user=user, lines={"A": 0, "B": 0, "C": 0})

    # then
    assert _lines(order) == {"A": 4, "B": 1}
    assert stock() == {"A": 6, "B": 9, "C": 1}


@pytest.mark.usefixtures("products")
@pytest.mark.parametrize(
    ("lines", "unknown"),
    [
        pytest.param({"A": 5, "NOPE": 1}, ["NOPE"], id="added"),
        pytest.param({"A": 5, "NOPE": 0}, ["NOPE"], id="removed-though-absent"),
        pytest.param({"NOPE": 0}, ["NOPE"], id="only-a-zero"),
        pytest.param({"Z": 0, "Y": 2}, ["Y", "Z"], id="zero-and-added"),
    ],
)
def test_an_unknown_product_is_refused_and_nothing_changes(
    lines: dict[str, int], unknown: list[str]
) -> None:
    # given
    user = UserFactory.create()
    order = place_order(user=user, lines={"A": 4})

    # when
    with pytest.raises(UnknownProducts) as raised:
        order_update_lines(order_id=order.id, user=user, lines=lines)

    # then
    assert raised.value.product_ids == unknown
    assert _lines(order) == {"A": 4}
    assert stock() == {"A": 6, "B": 10, "C": 1}


@pytest.mark.usefixtures("products")
def test_a_processing_order_can_be_edited() -> None:
    # given
    user = UserFactory.create()
    order = place_order(user=user, lines={"A": 4}, status="processing")

    # when
    updated = order_update_lines(order_id=order.id, user=user, lines={"A": 1})

    # then
    assert updated.order.status == "processing"
    assert _lines(order) == {"A": 1}
    assert stock()["A"] == 9


@pytest.mark.usefixtures("products")
@pytest.mark.parametrize("status", ["shipped", "delivered", "cancelled"])
def test_orders_past_processing_cannot_be_edited(status: str) -> None:
    # given
    user = UserFactory.create()
    order = place_order(user=user, lines={"A": 4}, status=status)
    before = stock()

    # when
    with pytest.raises(OrderConflict) as raised:
        order_update_lines(order_id=order.id, user=user, lines={"A": 1})

    # then
    assert str(raised.value) == f"Order is {status} and can no longer be edited."
    assert _lines(order) == {"A": 4}
    assert stock() == before
    assert Order.objects.get().version == order.version


@pytest.mark.usefixtures("products")
def test_a_stale_if_match_changes_nothing() -> None:
    # given
    user = UserFactory.create()
    order = place_order(user=user, lines={"A": 4})
    order_update_lines(order_id=order.id, user=user, lines={"A": 5})  # version 2

    # when
    with pytest.raises(OrderVersionMismatch):
        order_update_lines(order_id=order.id, user=user, lines={"A": 1}, if_match=frozenset({1}))

    # then
    assert _lines(order) == {"A": 5}
    assert stock()["A"] == 5


@pytest.mark.usefixtures("products")
def test_a_matching_if_match_edits() -> None:
    # given
    user = UserFactory.create()
    order = place_order(user=user, lines={"A": 4})

    # when
    updated = order_update_lines(
        order_id=order.id, user=user, lines={"A": 1}, if_match=frozenset({1})
    )

    # then
    assert updated.order.version == 2
    assert stock()["A"] == 9


@pytest.mark.usefixtures("products")
def test_another_users_order_is_not_found() -> None:
    # given
    order = place_order(user=UserFactory.create(username="owner"), lines={"A": 4})

    # when
    with pytest.raises(OrderNotFound):
        order_update_lines(
            order_id=order.id, user=UserFactory.create(username="other"), lines={"A": 1}
        )

    # then
    assert _lines(order) == {"A": 4}
    assert stock()["A"] == 6


@pytest.mark.usefixtures("products")
def test_staff_can_edit_any_order() -> None:
    # given
    order = place_order(user=UserFactory.create(), lines={"A": 4})

    # when
    order_update_lines(order_id=order.id, user=StaffFactory.create(), lines={"A": 2})

    # then
    assert _lines(order) == {"A": 2}
    assert stock()["A"] == 8


@pytest.mark.usefixtures("products")
def test_a_removed_product_can_be_added_again() -> None:
    # given
    user = UserFactory.create()
    order = place_order(user=user, lines={"A": 4, "B": 1})
    order_update_lines(order_id=order.id, user=user, lines={"A": 0})

    # when
    updated = order_update_lines(order_id=order.id, user=user, lines={"A": 2})

    # then
    assert updated.lines == {"B": 1, "A": 2}
    assert _lines(order) == {"B": 1, "A": 2}
    assert stock() == {"A": 8, "B": 9, "C": 1}
    assert Order.objects.get().version == 3
