"""inventory.ledger.movements_record (the one writer of movements) and the ledger's reads."""

from datetime import timedelta

import pytest
from django.db import transaction

from orderservice.common import clock
from orderservice.inventory.ledger import StockChange, movements_record
from orderservice.inventory.models import Product, StockMovement
from orderservice.inventory.selectors import LedgerMismatch, ledger_mismatches, movement_list
from tests.factories import ProductFactory, movements

pytestmark = pytest.mark.django_db


@pytest.fixture
def products() -> None:
    ProductFactory.create(product_id="A", product_count=5)
    ProductFactory.create(product_id="B", product_count=2)
    ProductFactory.create(product_id="C", product_count=0)


@pytest.mark.usefixtures("products")
def test_movements_are_recorded_in_order_with_one_time_and_zero_changes_skipped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given
    moment = clock.now() - timedelta(days=3)
    monkeypatch.setattr(clock, "now", lambda: moment)

    # when
    with transaction.atomic():
        recorded = movements_record(
            [StockChange("B", -2, 0), ("A", 0, 5), StockChange("A", -1, 4)],
            reason="order_placed",
            order_id="ord_" + "a" * 24,
            actor="alice",
        )

    # then
    assert [(m.product_id, m.delta, m.count_after) for m in recorded] == [
        ("B", -2, 0),
        ("A", -1, 4),
    ]
    assert all(m.pk is not None for m in recorded)
    assert movements("A")[-1] == (-1, 4, "order_placed", "alice", None)
    stored = StockMovement.objects.filter(order_id="ord_" + "a" * 24)
    assert {m.created_at for m in stored} == {moment}
    assert stored.count() == 2


@pytest.mark.usefixtures("products")
def test_nothing_to_record_writes_nothing() -> None:
    # when
    with transaction.atomic():
        recorded = movements_record([("A", 0, 5)], reason="order_edited")

    # then
    assert recorded == []
    assert StockMovement.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_recording_outside_any_transaction_raises() -> None:
    # given
    ProductFactory.create(product_id="A", product_count=5)

    # when
    with pytest.raises(RuntimeError):
        movements_record([("A", 1, 6)], reason="restock")

    # then
    assert StockMovement.objects.count() == 1


@pytest.mark.usefixtures("products")
def test_an_unknown_reason_is_a_bug() -> None:
    # when
    with transaction.atomic(), pytest.raises(ValueError):  # noqa: PT011
        movements_record([("A", 1, 6)], reason="stolen")

    # then
    assert StockMovement.objects.count() == 2


# --- reads -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("products")
def test_the_ledger_adds_up_when_every_change_was_recorded() -> None:
    # then
    assert ledger_mismatches() == []


@pytest.mark.usefixtures("products")
def test_products_whose_movements_do_not_add_up_are_named() -> None:
    # given: a change of stock that bypassed the services, and a movement without its change
    Product.objects.filter(product_id="A").update(product_count=7)
    with transaction.atomic():
        movements_record([("C", 3, 3)], reason="found")

    # when
    mismatches = ledger_mismatches()

    # then
    assert mismatches == [LedgerMismatch("A", 7, 5), LedgerMismatch("C", 0, 3)]


@pytest.mark.usefixtures("products")
def test_movement_list_is_newest_first_filtered_and_keyset_paged() -> None:
    # given
    with transaction.atomic():
        movements_record([("A", 1, 6)], reason="found")
        movements_record([("A", -2, 4)], reason="lost")
        movements_record([("A", 3, 7)], reason="found")

    # when
    everything = movement_list(product_id="A", reason=None, before=None, limit=10)
    found = movement_list(product_id="A", reason="found", before=None, limit=10)
    older = movement_list(product_id="A", reason=None, before=everything[1].pk, limit=10)

    # then
    assert [m.delta for m in everything] == [3, -2, 1, 5]
    assert [m.delta for m in found] == [3, 1]
    assert [m.delta for m in older] == [1, 5]
