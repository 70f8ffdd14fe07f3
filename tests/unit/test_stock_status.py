"""SPEC §11 stock_status: out_of_stock at 0, low_stock from 1 to the threshold, in_stock above."""

import pytest

from orderservice.inventory.stock_status import StockStatus, stock_status, stock_status_condition


@pytest.mark.parametrize(
    ("count", "threshold", "status"),
    [
        (0, 5, "out_of_stock"),
        (0, 0, "out_of_stock"),
        (1, 5, "low_stock"),
        (5, 5, "low_stock"),
        (6, 5, "in_stock"),
        (1, 0, "in_stock"),
        (1_000_000_000, 1_000_000_000, "low_stock"),
        (2_000_000_000, 1_000_000_000, "in_stock"),
    ],
)
def test_stock_status(count: int, threshold: int, status: str) -> None:
    # when / then
    assert stock_status(count, threshold) == status


def test_an_unknown_status_has_no_condition() -> None:
    # when / then
    with pytest.raises(ValueError, match="unknown stock status"):
        stock_status_condition("sold_out")


def test_every_status_has_a_condition() -> None:
    # when / then
    for status in StockStatus:
        assert stock_status_condition(status) is not None
