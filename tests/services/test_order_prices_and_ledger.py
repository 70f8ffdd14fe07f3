"""The order side of SPEC §10 and §11 in the services: each line's unit price, the movements of
every order change, and the units customers asked for and did not get."""

from decimal import Decimal

import pytest
from django.db import transaction

from orderservice.inventory.exceptions import OutOfStock, UnknownProducts
from orderservice.inventory.models import Product, StockMovement
from orderservice.inventory.services import product_update
from orderservice.orders.models import Order, OrderItem
from orderservice.orders.placement import order_place
from orderservice.orders.selectors import order_ledger_mismatches
from orderservice.orders.services import order_cancel, order_set_status, order_update_lines
from tests.factories import ProductFactory, StaffFactory, UserFactory, ledger_violations

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def products() -> None:
    ProductFactory.create(product_id="A", product_count=10, price=Decimal("2.50"))
    ProductFactory.create(product_id="B", product_count=10, price=Decimal("0.10"))
    ProductFactory.create(product_id="C", product_count=1, price=Decimal("1000000.00"))


@pytest.fixture(autouse=True)
def _books_balance() -> object:
    """Whatever a test does through the services, the ledger explains it afterwards."""
    yield
    assert ledger_violations() == []
    assert order_ledger_mismatches() == []


def _prices(order: Order) -> dict[str, Decimal]:
    items = OrderItem.objects.filter(order=order).order_by("id")
    return dict(items.values_list("product_id", "unit_price"))


def _reprice(**prices: str) -> None:
    for product_id, price in prices.items():
        product_update(product_id=product_id, price=Decimal(price))


def _order_movements(order: Order) -> list[tuple[str, int, int, str, str | None]]:
    """(product, delta, count_after, reason, actor) of the order's movements, oldest first."""
    rows = StockMovement.objects.filter(order_id=order.id).order_by("id")
    return list(rows.values_list("product_id", "delta", "count_after", "reason", "actor"))


def _unfilled() -> dict[str, int]:
    return dict(Product.objects.values_list("product_id", "unfilled_units"))


# --- unit prices (SPEC §10) ------------------------------------------------------------------


def test_each_line_records_its_products_price_when_placed() -> None:
    # when
    placed = order_place(user=UserFactory.create(), lines={"B": 3, "A": 1}, partial=False)

    # then
    assert placed.prices == {"B": Decimal("0.10"), "A": Decimal("2.50")}
    assert _prices(placed.order) == placed.prices


def test_a_resized_line_keeps_its_price_and_an_added_line_takes_todays() -> None:
    # given
    user = UserFactory.create()
    order = order_place(user=user, lines={"A": 1, "B": 2}, partial=False).order
    _reprice(A="3.00", B="0.20", C="5.00")

    # when
    updated = order_update_lines(order_id=order.id, user=user, lines={"A": 4, "B": 0, "C": 1})

    # then
    expected = {"A": Decimal("2.50"), "C": Decimal("5.00")}
    assert updated.prices == expected
    assert _prices(order) == expected


def test_a_line_removed_then_added_again_takes_the_price_of_its_return() -> None:
    # given
    user = UserFactory.create()
    order = order_place(user=user, lines={"A": 1, "B": 2}, partial=False).order
    order_update_lines(order_id=order.id, user=user, lines={"B": 0})
    _reprice(B="0.15")

    # when
    updated = order_update_lines(order_id=order.id, user=user, lines={"B": 1})

    # then
    assert updated.prices == {"A": Decimal("2.50"), "B": Decimal("0.15")}


def test_a_price_change_never_changes_an_existing_order() -> None:
    # given
    user = UserFactory.create()
    open_order = order_place(user=user, lines={"A": 2}, partial=False).order
    cancelled = order_place(user=user, lines={"A": 1, "B": 1}, partial=False).order
    order_cancel(order_id=cancelled.id, user=user)

    # when
    _reprice(A="9.99", B="0")

    # then
    assert _prices(open_order) == {"A": Decimal("2.50")}
    assert _prices(cancelled) == {"A": Decimal("2.50"), "B": Decimal("0.10")}


def test_a_cancelled_order_keeps_its_lines_and_prices() -> None:
    # given
    user = UserFactory.create()
    order = order_place(user=user, lines={"A": 2, "B": 3}, partial=False).order

    # when
    state = order_set_status(order_id=order.id, user=StaffFactory.create(), status="cancelled")

    # then
    assert (state.lines, state.prices) == (
        {"A": 2, "B": 3},
        {"A": Decimal("2.50"), "B": Decimal("0.10")},
    )
    assert _prices(order) == state.prices


def test_an_edit_that_changes_nothing_answers_the_lines_prices() -> None:
    # given
    user = UserFactory.create()
    order = order_place(user=user, lines={"A": 2}, partial=False).order

    # when
    updated = order_update_lines(order_id=order.id, user=user, lines={"A": 2, "B": 0})

    # then
    assert (updated.changes, updated.prices) == ([], {"A": Decimal("2.50")})


# --- movements (SPEC §11) --------------------------------------------------------------------


def test_placing_writes_an_order_placed_movement_per_line_by_the_owner() -> None:
    # when: B cannot be filled
    placed = order_place(
        user=UserFactory.create(username="alice"), lines={"A": 3, "C": 2}, partial=True
    )

    # then
    assert _order_movements(placed.order) == [("A", -3, 7, "order_placed", "alice")]


def test_an_edit_writes_order_edited_movements_by_whoever_made_it() -> None:
    # given
    alice = UserFactory.create(username="alice")
    order = order_place(user=alice, lines={"A": 3, "B": 1}, partial=False).order

    # when: alice raises A, then staff remove B and add C
    order_update_lines(order_id=order.id, user=alice, lines={"A": 5})
    staff = StaffFactory.create(username="boss")
    order_update_lines(order_id=order.id, user=staff, lines={"B": 0, "C": 1})

    # then
    assert _order_movements(order) == [
        ("A", -3, 7, "order_placed", "alice"),
        ("B", -1, 9, "order_placed", "alice"),
        ("A", -2, 5, "order_edited", "alice"),
        ("B", 1, 10, "order_edited", "boss"),
        ("C", -1, 0, "order_edited", "boss"),
    ]


@pytest.mark.parametrize("how", ["owner-cancels", "staff-cancels", "staff-sets-cancelled"])
def test_a_cancel_writes_order_cancelled_movements_by_whoever_cancelled(how: str) -> None:
    # given
    alice = UserFactory.create(username="alice")
    order = order_place(user=alice, lines={"A": 3, "B": 1}, partial=False).order
    staff = StaffFactory.create(username="boss")

    # when
    if how == "owner-cancels":
        order_cancel(order_id=order.id, user=alice)
    elif how == "staff-cancels":
        order_cancel(order_id=order.id, user=staff)
    else:
        order_set_status(order_id=order.id, user=staff, status="cancelled")

    # then
    actor = "alice" if how == "owner-cancels" else "boss"
    assert sorted(_order_movements(order)[2:]) == [
        ("A", 3, 10, "order_cancelled", actor),
        ("B", 1, 10, "order_cancelled", actor),
    ]


def test_status_moves_other_than_cancel_write_no_movement() -> None:
    # given
    order = order_place(user=UserFactory.create(), lines={"A": 1}, partial=False).order
    staff = StaffFactory.create()

    # when
    for status in ["processing", "shipped", "delivered"]:
        order_set_status(order_id=order.id, user=staff, status=status)

    # then
    assert [m[3] for m in _order_movements(order)] == ["order_placed"]


# --- unfilled units (SPEC §11) ---------------------------------------------------------------


def test_the_lines_left_out_of_a_partial_order_are_unfilled() -> None:
    # when
    order_place(user=UserFactory.create(), lines={"A": 2, "C": 3}, partial=True)

    # then
    assert _unfilled() == {"A": 0, "B": 0, "C": 3}


@pytest.mark.parametrize(
    ("lines", "partial"),
    [
        pytest.param({"C": 2, "B": 11}, True, id="partial-nothing-fits"),
        pytest.param({"A": 4, "C": 2}, False, id="all-or-nothing-one-short"),
    ],
)
def test_every_line_of_a_refused_order_is_unfilled_and_nothing_else_is_stored(
    lines: dict[str, int], partial: bool
) -> None:
    # when
    with pytest.raises(OutOfStock):
        order_place(user=UserFactory.create(), lines=lines, partial=partial)

    # then
    assert _unfilled() == {"A": 0, "B": 0, "C": 0, **lines}
    assert (Order.objects.count(), OrderItem.objects.count()) == (0, 0)
    assert not StockMovement.objects.exclude(reason="initial").exists()


def test_every_increase_of_a_refused_edit_is_unfilled_once() -> None:
    # given
    user = UserFactory.create()
    order = order_place(user=user, lines={"A": 2, "B": 5}, partial=False).order

    # when: A +3 would fit, C +2 cannot; B going down is no request for units
    with pytest.raises(OutOfStock):
        order_update_lines(order_id=order.id, user=user, lines={"A": 5, "B": 1, "C": 2})

    # then
    assert _unfilled() == {"A": 3, "B": 0, "C": 2}
    assert OrderItem.objects.filter(order=order).count() == 2
    assert Order.objects.get().version == 1


def test_a_refusal_inside_a_callers_transaction_still_counts() -> None:
    # given: a caller's transaction, as an Idempotency-Key's is
    user = UserFactory.create()

    # when
    with transaction.atomic(), pytest.raises(OutOfStock):
        order_place(user=user, lines={"C": 5}, partial=True)

    # then
    assert _unfilled()["C"] == 5


def test_unknown_products_count_nothing() -> None:
    # given
    user = UserFactory.create()
    order = order_place(user=user, lines={"A": 1}, partial=False).order

    # when
    with pytest.raises(UnknownProducts):
        order_place(user=user, lines={"C": 5, "NOPE": 1}, partial=True)
    with pytest.raises(UnknownProducts):
        order_update_lines(order_id=order.id, user=user, lines={"C": 5, "NOPE": 1})

    # then
    assert _unfilled() == {"A": 0, "B": 0, "C": 0}
