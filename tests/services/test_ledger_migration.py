"""inventory migration 0003: products that existed before the ledger get their opening balance."""

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.test import override_settings

from tests.migrating import migrate_to, migrate_to_latest

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("inventory", "0003_product_price_stock_ledger")]
AFTER = [("inventory", "0004_initial_movements")]


@pytest.fixture
def before_the_ledger() -> Iterator[Any]:
    """The schema just before the data migration; the latest schema again afterwards."""
    apps = migrate_to(BEFORE)
    yield apps
    migrate_to_latest()


def test_each_product_in_stock_gets_an_initial_movement_of_its_stock(
    before_the_ledger: Any,
) -> None:
    # given: products made before the ledger existed
    Product = before_the_ledger.get_model("inventory", "Product")
    Product.objects.create(product_id="A", name="Kettle", product_count=7)
    Product.objects.create(product_id="B", name="Mug", product_count=0)
    Product.objects.create(product_id="C", name="Jug", product_count=1_000_000_000)

    # when
    apps = migrate_to(AFTER)

    # then
    StockMovement = apps.get_model("inventory", "StockMovement")
    rows = StockMovement.objects.order_by("product_id").values_list(
        "product_id", "delta", "count_after", "reason", "order_id", "actor"
    )
    assert list(rows) == [
        ("A", 7, 7, "initial", None, None),
        ("C", 1_000_000_000, 1_000_000_000, "initial", None, None),
    ]
    sums = {
        p.product_id: sum(m.delta for m in p.movements.all())
        for p in apps.get_model("inventory", "Product").objects.all()
    }
    assert sums == {"A": 7, "B": 0, "C": 1_000_000_000}


def test_migrating_back_removes_the_opening_balances_only(before_the_ledger: Any) -> None:
    # given: the ledger migrated, then a movement of later work
    Product = before_the_ledger.get_model("inventory", "Product")
    Product.objects.create(product_id="A", name="Kettle", product_count=7)
    apps = migrate_to(AFTER)
    StockMovement = apps.get_model("inventory", "StockMovement")
    StockMovement.objects.create(
        product_id="A", delta=2, count_after=9, reason="restock", actor="boss"
    )

    # when
    apps = migrate_to(BEFORE)

    # then
    StockMovement = apps.get_model("inventory", "StockMovement")
    assert list(StockMovement.objects.values_list("delta", "reason")) == [(2, "restock")]


@override_settings(LOW_STOCK_THRESHOLD=7)
def test_existing_products_get_price_0_and_the_threshold_setting(before_the_ledger: Any) -> None:
    # given: a product from before prices and thresholds
    Product = migrate_to([("inventory", "0002_timestamps_from_clock")]).get_model(
        "inventory", "Product"
    )
    Product.objects.create(product_id="A", name="Kettle", product_count=3)

    # when
    apps = migrate_to(AFTER)

    # then
    product = apps.get_model("inventory", "Product").objects.get(product_id="A")
    assert (product.price, product.low_stock_threshold, product.unfilled_units) == (
        Decimal("0.00"),
        7,
        0,
    )
    assert list(product.movements.values_list("delta", "reason")) == [(3, "initial")]
