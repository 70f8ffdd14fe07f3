"""orders.placement.order_place: stock taken and order stored in one transaction, or neither."""

import re

import pytest

from orderservice.inventory.exceptions import OutOfStock, Shortage, UnknownProducts
from orderservice.orders.models import Order, OrderItem
from orderservice.orders.placement import order_place
from tests.factories import ProductFactory, UserFactory, stock

pytestmark = pytest.mark.django_db


@pytest.fixture
def products() -> None:
    ProductFactory.create(product_id="A", product_count=5)
    ProductFactory.create(product_id="B", product_count=2)


def _items(order: Order) -> list[tuple[str, int]]:
    return list(OrderItem.objects.filter(order=order).values_list("product_id", "item_count"))


@pytest.mark.usefixtures("products")
@pytest.mark.parametrize("partial", [True, False])
def test_place_takes_stock_and_stores_the_order(partial: bool) -> None:
    # given
    user = UserFactory.create()

    # when
    placed = order_place(user=user, lines={"B": 2, "A": 3}, partial=partial)

    # then
    assert placed.lines == {"B": 2, "A": 3}
    assert placed.out_of_stock == []
    order = Order.objects.get()
    assert order == placed.order
    assert (order.user, order.status, order.version) == (user, "placed", 1)
    assert _items(order) == [("B", 2), ("A", 3)]
    assert stock() == {"A": 2, "B": 0}


@pytest.mark.usefixtures("products")
def test_partial_place_stores_what_fits_and_reports_the_rest() -> None:
    # when
    placed = order_place(user=UserFactory.create(), lines={"A": 1, "B": 3}, partial=True)

    # then
    assert placed.lines == {"A": 1}
    assert placed.out_of_stock == [Shortage("B", requested=3, available=2)]
    assert _items(placed.order) == [("A", 1)]
    assert stock() == {"A": 4, "B": 2}


@pytest.mark.usefixtures("products")
@pytest.mark.parametrize(
    ("lines", "partial", "shortages"),
    [
        pytest.param({"A": 6}, True, [Shortage("A", 6, 5)], id="partial-nothing-fits"),
        pytest.param(
            {"A": 6, "B": 3},
            True,
            [Shortage("A", 6, 5), Shortage("B", 3, 2)],
            id="partial-all-short",
        ),
        pytest.param({"A": 1, "B": 3}, False, [Shortage("B", 3, 2)], id="all-or-nothing-one-short"),
    ],
)
def test_place_that_cannot_be_filled_stores_nothing(
    lines: dict[str, int], partial: bool, shortages: list[Shortage]
) -> None:
    # when
    with pytest.raises(OutOfStock) as raised:
        order_place(user=UserFactory.create(), lines=lines, partial=partial)

    # then
    assert raised.value.shortages == shortages
    assert Order.objects.count() == 0
    assert OrderItem.objects.count() == 0
    assert stock() == {"A": 5, "B": 2}


@pytest.mark.usefixtures("products")
def test_place_with_an_unknown_product_stores_nothing() -> None:
    # when
    with pytest.raises(UnknownProducts) as raised:
        order_place(user=UserFactory.create(), lines={"A": 1, "NOPE": 1}, partial=True)

    # then
    assert raised.value.product_ids == ["NOPE"]
    assert Order.objects.count() == 0
    assert stock() == {"A": 5, "B": 2}


@pytest.mark.usefixtures("products")
def test_order_ids_are_opaque_and_distinct() -> None:
    # given
    user = UserFactory.create()

    # when
    ids = [order_place(user=user, lines={"A": 1}, partial=False).order.id for _ in range(5)]

    # then
    assert all(re.fullmatch(r"ord_[0-9a-f]{24}", order_id) for order_id in ids)
    assert len(set(ids)) == 5
    assert stock()["A"] == 0


@pytest.mark.usefixtures("products")
def test_the_last_unit_can_be_ordered_and_then_no_more() -> None:
    # given
    user = UserFactory.create()
    order_place(user=user, lines={"B": 2}, partial=False)

    # when
    with pytest.raises(OutOfStock) as raised:
        order_place(user=user, lines={"B": 1}, partial=True)

    # then
    assert raised.value.shortages == [Shortage("B", requested=1, available=0)]
    assert Order.objects.count() == 1
    assert stock()["B"] == 0
