"""inventory.services: stock_decrease, stock_increase, stock_exchange (the orders' interface)."""

from collections.abc import Callable

import pytest

from orderservice.inventory.exceptions import OutOfStock, Shortage, UnknownProducts
from orderservice.inventory.services import stock_decrease, stock_exchange, stock_increase
from orderservice.inventory.stock_sql import StockDecrease
from tests.factories import ProductFactory, stock

pytestmark = pytest.mark.django_db


@pytest.fixture
def products() -> None:
    ProductFactory.create(product_id="A", product_count=5)
    ProductFactory.create(product_id="B", product_count=2)
    ProductFactory.create(product_id="C", product_count=0)


@pytest.mark.usefixtures("products")
@pytest.mark.parametrize("partial", [True, False])
def test_decrease_takes_every_line_that_fits(partial: bool) -> None:
    # when
    result = stock_decrease({"A": 3, "B": 2}, partial=partial)

    # then
    assert result == StockDecrease(taken={"A": 3, "B": 2}, shortages=[])
    assert stock() == {"A": 2, "B": 0, "C": 0}


@pytest.mark.usefixtures("products")
def test_partial_decrease_takes_the_lines_that_fit_and_reports_the_rest() -> None:
    # when
    result = stock_decrease({"B": 3, "A": 5, "C": 1}, partial=True)

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
        stock_decrease({"B": 3, "C": 1}, partial=True)

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
        stock_decrease({"A": 1, "B": 3}, partial=False)

    # then only the short line is reported
    assert raised.value.shortages == [Shortage("B", requested=3, available=2)]
    assert stock() == {"A": 5, "B": 2, "C": 0}


@pytest.mark.usefixtures("products")
@pytest.mark.parametrize("partial", [True, False])
def test_decrease_naming_unknown_products_takes_nothing(partial: bool) -> None:
    # when
    with pytest.raises(UnknownProducts) as raised:
        stock_decrease({"A": 1, "ZZ": 1, "NOPE": 2}, partial=partial)

    # then the unknown ids come sorted, and nothing moved
    assert raised.value.product_ids == ["NOPE", "ZZ"]
    assert stock() == {"A": 5, "B": 2, "C": 0}


@pytest.mark.usefixtures("products")
def test_increase_puts_stock_back() -> None:
    # when
    stock_increase({"A": 1, "C": 4})

    # then
    assert stock() == {"A": 6, "B": 2, "C": 4}


@pytest.mark.usefixtures("products")
def test_increase_of_an_unknown_product_changes_nothing() -> None:
    # when
    with pytest.raises(UnknownProducts) as raised:
        stock_increase({"A": 1, "NOPE": 1})

    # then
    assert raised.value.product_ids == ["NOPE"]
    assert stock() == {"A": 5, "B": 2, "C": 0}


@pytest.mark.usefixtures("products")
def test_exchange_takes_and_gives_back_together() -> None:
    # when
    result = stock_exchange(take={"B": 2}, give_back={"A": 3, "C": 1})

    # then
    assert result.taken == {"B": 2}
    assert result.shortages == []
    assert stock() == {"A": 8, "B": 0, "C": 1}


@pytest.mark.usefixtures("products")
def test_exchange_with_a_short_line_gives_nothing_back_either() -> None:
    # when
    with pytest.raises(OutOfStock) as raised:
        stock_exchange(take={"A": 1, "B": 3}, give_back={"C": 2})

    # then
    assert raised.value.shortages == [Shortage("B", requested=3, available=2)]
    assert stock() == {"A": 5, "B": 2, "C": 0}


@pytest.mark.usefixtures("products")
def test_exchange_of_nothing_is_a_no_op() -> None:
    # when
    result = stock_exchange(take={}, give_back={})

    # then
    assert result == StockDecrease(taken={})
    assert stock() == {"A": 5, "B": 2, "C": 0}


@pytest.mark.usefixtures("products")
def test_decrease_to_exactly_zero_is_allowed() -> None:
    # when
    result = stock_decrease({"A": 5}, partial=False)

    # then
    assert result.taken == {"A": 5}
    assert stock()["A"] == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda: stock_decrease({"A": 1}, partial=False), id="stock_decrease"),
        pytest.param(lambda: stock_decrease({"A": 1}, partial=True), id="stock_decrease-partial"),
        pytest.param(lambda: stock_increase({"A": 1}), id="stock_increase"),
        pytest.param(lambda: stock_exchange(take={"A": 1}, give_back={}), id="stock_exchange"),
        pytest.param(lambda: stock_exchange(take={}, give_back={}), id="stock_exchange-empty"),
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
