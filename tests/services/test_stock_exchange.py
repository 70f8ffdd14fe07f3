"""inventory.services: stock_decrease, stock_increase, stock_exchange (the orders' interface)."""

from collections.abc import Callable
from decimal import Decimal

import pytest

from orderservice.inventory.exceptions import OutOfStock, Shortage, UnknownProducts
from orderservice.inventory.models import MovementReason, Product
from orderservice.inventory.services import stock_decrease, stock_exchange, stock_increase
from orderservice.inventory.stock_sql import StockDecrease
from tests.factories import ProductFactory, ledger_violations, movements, stock

pytestmark = pytest.mark.django_db

PLACED = MovementReason.ORDER_PLACED
EDITED = MovementReason.ORDER_EDITED
CANCELLED = MovementReason.ORDER_CANCELLED


@pytest.fixture
def products() -> None:
    ProductFactory.create(product_id="A", product_count=5, price=Decimal("2.50"))
    ProductFactory.create(product_id="B", product_count=2, price=Decimal("0.10"))
    ProductFactory.create(product_id="C", product_count=0, price=Decimal("7.00"))


@pytest.mark.usefixtures("products")
@pytest.mark.parametrize("partial", [True, False])
def test_decrease_takes_every_line_that_fits(partial: bool) -> None:
    # when
    result = stock_decrease({"A": 3, "B": 2}, partial=partial, reason=PLACED)

    # then
    assert result == StockDecrease(
        taken={"A": 3, "B": 2},
        shortages=[],
        prices={"A": Decimal("2.50"), "B": Decimal("0.10")},
    )
    assert stock() == {"A": 2, "B": 0, "C": 0}


@pytest.mark.usefixtures("products")
def test_partial_decrease_takes_the_lines_that_fit_and_reports_the_rest() -> None:
    # when
    result = stock_decrease({"B": 3, "A": 5, "C": 1}, partial=True, reason=PLACED)

    # then a short line is not taken at all, not even the part that is there
    assert result.taken == {"A": 5}
    assert result.shortages == [
        Shortage("B", requested=3, available=2),
        Shortage("C", requested=1, available=0),
    ]
    assert stock() == {"A": 0, "B": 2, "C": 0}


@pytest.mark.usefixtures("products")
def test_partial_decrease_with_nothing_that_fits_takes_nothing() -> None:
    # when
    with pytest.raises(OutOfStock) as raised:
        stock_decrease({"B": 3, "C": 1}, partial=True, reason=PLACED)

    # then
    assert raised.value.shortages == [
        Shortage("B", requested=3, available=2),
        Shortage("C", requested=1, available=0),
    ]
    assert stock() == {"A": 5, "B": 2, "C": 0}


@pytest.mark.usefixtures("products")
def test_all_or_nothing_decrease_with_one_short_line_takes_nothing() -> None:
    # when
    with pytest.raises(OutOfStock) as raised:
        stock_decrease({"A": 1, "B": 3}, partial=False, reason=PLACED)

    # then only the short line is reported
    assert raised.value.shortages == [Shortage("B", requested=3, available=2)]
    assert stock() == {"A": 5, "B": 2, "C": 0}


@pytest.mark.usefixtures("products")
@pytest.mark.parametrize("partial", [True, False])
def test_decrease_naming_unknown_products_takes_nothing(partial: bool) -> None:
    # when
    with pytest.raises(UnknownProducts) as raised:
        stock_decrease({"A": 1, "ZZ": 1, "NOPE": 2}, partial=partial, reason=PLACED)

    # then the unknown ids come sorted, and nothing moved
    assert raised.value.product_ids == ["NOPE", "ZZ"]
    assert stock() == {"A": 5, "B": 2, "C": 0}


@pytest.mark.usefixtures("products")
def test_increase_puts_stock_back() -> None:
    # when
    stock_increase({"A": 1, "C": 4}, reason=CANCELLED)

    # then
    assert stock() == {"A": 6, "B": 2, "C": 4}


@pytest.mark.usefixtures("products")
def test_increase_of_an_unknown_product_changes_nothing() -> None:
    # when
    with pytest.raises(UnknownProducts) as raised:
        stock_increase({"A": 1, "NOPE": 1}, reason=CANCELLED)

    # then
    assert raised.value.product_ids == ["NOPE"]
    assert stock() == {"A": 5, "B": 2, "C": 0}


@pytest.mark.usefixtures("products")
def test_exchange_takes_and_gives_back_together() -> None:
    # when
    result = stock_exchange(take={"B": 2}, give_back={"A": 3, "C": 1}, reason=EDITED)

    # then
    assert result.taken == {"B": 2}
    assert result.shortages == []
    assert stock() == {"A": 8, "B": 0, "C": 1}


@pytest.mark.usefixtures("products")
def test_exchange_with_a_short_line_gives_nothing_back_either() -> None:
    # when
    with pytest.raises(OutOfStock) as raised:
        stock_exchange(take={"A": 1, "B": 3}, give_back={"C": 2}, reason=EDITED)

    # then
    assert raised.value.shortages == [Shortage("B", requested=3, available=2)]
    assert stock() == {"A": 5, "B": 2, "C": 0}


@pytest.mark.usefixtures("products")
def test_exchange_of_nothing_is_a_no_op() -> None:
    # when
    result = stock_exchange(take={}, give_back={}, reason=EDITED)

    # then
    assert result == StockDecrease(taken={})
    assert stock() == {"A": 5, "B": 2, "C": 0}


@pytest.mark.usefixtures("products")
def test_decrease_to_exactly_zero_is_allowed() -> None:
    # when
    result = stock_decrease({"A": 5}, partial=False, reason=PLACED)

    # then
    assert result.taken == {"A": 5}
    assert stock()["A"] == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "call",
    [
        pytest.param(
            lambda: stock_decrease({"A": 1}, partial=False, reason=PLACED), id="stock_decrease"
        ),
        pytest.param(
            lambda: stock_decrease({"A": 1}, partial=True, reason=PLACED),
            id="stock_decrease-partial",
        ),
        pytest.param(lambda: stock_increase({"A": 1}, reason=CANCELLED), id="stock_increase"),
        pytest.param(
            lambda: stock_exchange(take={"A": 1}, give_back={}, reason=EDITED),
            id="stock_exchange",
        ),
        pytest.param(
            lambda: stock_exchange(take={}, give_back={}, reason=EDITED),
            id="stock_exchange-empty",
        ),
    ],
)
def test_stock_functions_refuse_to_run_outside_a_transaction(call: Callable[[], object]) -> None:
    # given
    ProductFactory.create(product_id="A", product_count=5)

    # when
    with pytest.raises(RuntimeError, match="inside the caller's transaction"):
        call()

    # then
    assert stock() == {"A": 5}


# --- the ledger and unfilled units (SPEC §11) -----------------------------------------------


def _unfilled() -> dict[str, int]:
    return dict(Product.objects.values_list("product_id", "unfilled_units"))


@pytest.mark.usefixtures("products")
def test_each_product_moved_gets_one_movement_with_its_order_and_actor() -> None:
    # when
    stock_exchange(
        take={"B": 2},
        give_back={"A": 3, "C": 1},
        reason=EDITED,
        order_id="ord_" + "e" * 24,
        actor="alice",
    )

    # then: count_after is each product's new stock
    assert movements("A")[-1] == (3, 8, "order_edited", "alice", None)
    assert movements("B")[-1] == (-2, 0, "order_edited", "alice", None)
    assert movements("C") == [(1, 1, "order_edited", "alice", None)]
    assert ledger_violations() == []


@pytest.mark.usefixtures("products")
def test_a_product_whose_stock_does_not_move_gets_no_movement() -> None:
    # when: B is taken and given back in the same exchange
    stock_exchange(take={"A": 1, "B": 1}, give_back={"B": 1}, reason=EDITED)

    # then
    assert movements("A")[-1] == (-1, 4, "order_edited", None, None)
    assert movements("B") == [(2, 2, "initial", None, None)]
    assert ledger_violations() == []


@pytest.mark.usefixtures("products")
def test_the_short_lines_of_a_partial_take_are_unfilled_units() -> None:
    # when
    stock_decrease({"B": 3, "A": 5, "C": 1}, partial=True, reason=PLACED)

    # then
    assert _unfilled() == {"A": 0, "B": 3, "C": 1}


@pytest.mark.usefixtures("products")
@pytest.mark.parametrize("partial", [True, False])
def test_a_refusal_counts_every_line_it_would_have_taken_and_moves_nothing(partial: bool) -> None:
    # when: C is short; with all_or_nothing A, which fits, is refused too
    take = {"C": 1} if partial else {"A": 2, "C": 1}
    with pytest.raises(OutOfStock):
        stock_decrease(take, partial=partial, reason=PLACED)

    # then
    assert _unfilled() == {"A": 0 if partial else 2, "B": 0, "C": 1}
    assert stock() == {"A": 5, "B": 2, "C": 0}
    assert ledger_violations() == []
    assert movements("A") == [(5, 5, "initial", None, None)]


@pytest.mark.usefixtures("products")
def test_a_refused_exchange_counts_what_it_would_have_taken_not_what_it_would_give_back() -> None:
    # when
    with pytest.raises(OutOfStock):
        stock_exchange(take={"A": 1, "B": 3}, give_back={"C": 2}, reason=EDITED)

    # then
    assert _unfilled() == {"A": 1, "B": 3, "C": 0}


@pytest.mark.usefixtures("products")
def test_unknown_products_count_no_unfilled_units() -> None:
    # when
    with pytest.raises(UnknownProducts):
        stock_decrease({"C": 4, "NOPE": 1}, partial=False, reason=PLACED)

    # then
    assert _unfilled() == {"A": 0, "B": 0, "C": 0}
