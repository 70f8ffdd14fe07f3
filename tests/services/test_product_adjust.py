"""inventory.services.product_adjust: move stock by a delta or set it, for a reason (SPEC §11)."""

from typing import Any

import pytest

from orderservice.inventory.exceptions import (
    ProductNotFound,
    StockNotAsExpected,
    StockWouldGoNegative,
)
from orderservice.inventory.models import ADJUSTMENT_REASONS, StockMovement
from orderservice.inventory.services import product_adjust
from tests.factories import ProductFactory, ledger_violations, movements, stock

pytestmark = pytest.mark.django_db

INITIAL = [(5, 5, "initial", None, None)]


@pytest.fixture
def products() -> None:
    ProductFactory.create(product_id="A", product_count=5)
    ProductFactory.create(product_id="B", product_count=2)


@pytest.mark.usefixtures("products")
@pytest.mark.parametrize("reason", [r.value for r in ADJUSTMENT_REASONS])
@pytest.mark.parametrize(("delta", "after"), [(3, 8), (-5, 0), (-1, 4)])
def test_a_delta_moves_the_stock_and_is_recorded(reason: str, delta: int, after: int) -> None:
    # when
    adjusted = product_adjust(
        product_id="A", delta=delta, reason=reason, note="shelf 4", actor="boss"
    )

    # then
    assert adjusted.product.product_count == after
    movement = adjusted.movement
    assert movement is not None
    assert (movement.product_id, movement.delta, movement.count_after) == ("A", delta, after)
    assert (movement.reason, movement.actor, movement.note, movement.order_id) == (
        reason,
        "boss",
        "shelf 4",
        None,
    )
    assert movement.movement_id == f"mov_{movement.pk}"
    assert stock() == {"A": after, "B": 2}
    assert movements("A") == [*INITIAL, (delta, after, reason, "boss", "shelf 4")]
    assert ledger_violations() == []


@pytest.mark.usefixtures("products")
@pytest.mark.parametrize(("set_to", "delta"), [(9, 4), (0, -5), (1_000_000_000, 999_999_995)])
def test_set_to_records_the_difference(set_to: int, delta: int) -> None:
    # when
    adjusted = product_adjust(product_id="A", set_to=set_to, reason="found", actor="boss")

    # then
    assert adjusted.product.product_count == set_to
    assert movements("A") == [*INITIAL, (delta, set_to, "found", "boss", None)]
    assert ledger_violations() == []


@pytest.mark.usefixtures("products")
def test_set_to_the_current_stock_changes_nothing_and_records_nothing() -> None:
    # when
    adjusted = product_adjust(product_id="A", set_to=5, reason="correction", actor="boss")

    # then
    assert adjusted.movement is None
    assert adjusted.product.product_count == 5
    assert movements("A") == INITIAL


@pytest.mark.usefixtures("products")
@pytest.mark.parametrize(
    "change", [pytest.param({"delta": -2}, id="delta"), pytest.param({"set_to": 1}, id="set_to")]
)
def test_the_expected_count_met_applies_the_adjustment(change: dict[str, Any]) -> None:
    # when
    adjusted = product_adjust(
        product_id="A", expected_count=5, reason="lost", actor="boss", **change
    )

    # then
    assert adjusted.movement is not None
    assert stock()["A"] == 5 + adjusted.movement.delta


@pytest.mark.usefixtures("products")
@pytest.mark.parametrize(
    "change", [pytest.param({"delta": -2}, id="delta"), pytest.param({"set_to": 5}, id="set_to")]
)
@pytest.mark.parametrize("expected", [4, 6, 0])
def test_a_stale_expected_count_is_refused_and_nothing_changes(
    change: dict[str, Any], expected: int
) -> None:
    # when
    with pytest.raises(StockNotAsExpected) as refused:
        product_adjust(
            product_id="A", expected_count=expected, reason="correction", actor="boss", **change
        )

    # then
    assert refused.value.details() == {"product_count": 5}
    assert stock() == {"A": 5, "B": 2}
    assert movements("A") == INITIAL


@pytest.mark.usefixtures("products")
@pytest.mark.parametrize("delta", [-6, -1_000_000_000])
def test_a_delta_below_zero_stock_is_refused_and_nothing_changes(delta: int) -> None:
    # when
    with pytest.raises(StockWouldGoNegative) as refused:
        product_adjust(product_id="A", delta=delta, reason="damaged", actor="boss")

    # then
    assert refused.value.details() == {"product_count": 5}
    assert stock() == {"A": 5, "B": 2}
    assert movements("A") == INITIAL


@pytest.mark.usefixtures("products")
def test_an_unknown_product_is_not_found_and_nothing_changes() -> None:
    # when
    with pytest.raises(ProductNotFound):
        product_adjust(product_id="NOPE", delta=1, reason="found", actor="boss")

    # then
    assert stock() == {"A": 5, "B": 2}
    assert StockMovement.objects.count() == 2


@pytest.mark.usefixtures("products")
@pytest.mark.parametrize(
    "arguments",
    [
        pytest.param({"reason": "found"}, id="neither-delta-nor-set_to"),
        pytest.param({"delta": 1, "set_to": 3, "reason": "found"}, id="both"),
        pytest.param({"delta": 1, "reason": "initial"}, id="reason-initial"),
        pytest.param({"delta": 1, "reason": "order_placed"}, id="reason-of-orders"),
        pytest.param({"delta": 1, "reason": "stolen"}, id="reason-unknown"),
    ],
)
def test_a_call_outside_the_contract_is_a_bug_and_changes_nothing(
    arguments: dict[str, Any],
) -> None:
    # when
    with pytest.raises(ValueError):  # noqa: PT011 - the edge validates; this is a programming error
        product_adjust(product_id="A", actor="boss", **arguments)

    # then
    assert stock() == {"A": 5, "B": 2}
    assert StockMovement.objects.count() == 2
