"""orders migrations 0003 and 0004: lines that existed before prices and the ledger get a unit
price and their order_placed movements, so that stock_audit holds for old data."""

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command

from tests.migrating import migrate_to, migrate_to_latest

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [
    ("inventory", "0003_product_price_stock_ledger"),
    ("orders", "0002_timestamps_from_clock"),
]
AFTER = [
    ("inventory", "0004_initial_movements"),
    ("orders", "0004_movements_of_orders_before_the_ledger"),
]


@pytest.fixture
def old_orders() -> Iterator[Any]:
    """Products and orders made before order lines had prices and the ledger existed."""
    apps = migrate_to(BEFORE)
    user = apps.get_model("auth", "User").objects.create(username="alice")
    Product = apps.get_model("inventory", "Product")
    Order = apps.get_model("orders", "Order")
    OrderItem = apps.get_model("orders", "OrderItem")
    # Stock already less what the orders hold: A 7 left (2 + 1 held), B 0 left (4 held).
    Product.objects.create(product_id="A", name="Kettle", product_count=7, price=Decimal("2.50"))
    Product.objects.create(product_id="B", name="Mug", product_count=0, price=Decimal("0.10"))
    orders = {}
    for n, (status, lines) in enumerate(
        [("placed", {"A": 2, "B": 4}), ("cancelled", {"A": 5}), ("shipped", {"A": 1})]
    ):
        moment = datetime(2026, 1, 1 + n, tzinfo=UTC)
        order = Order.objects.create(
            id=f"ord_{n:024d}", user=user, status=status, created_at=moment, updated_at=moment
        )
        for product_id, count in lines.items():
            OrderItem.objects.create(order=order, product_id=product_id, item_count=count)
        orders[status] = order.id
    yield orders
    migrate_to_latest()


def test_old_lines_take_their_products_current_price(old_orders: dict[str, str]) -> None:
    # when
    apps = migrate_to(AFTER)

    # then
    OrderItem = apps.get_model("orders", "OrderItem")
    prices = OrderItem.objects.order_by("order_id", "product_id").values_list(
        "order_id", "product_id", "unit_price"
    )
    assert list(prices) == [
        (old_orders["placed"], "A", Decimal("2.50")),
        (old_orders["placed"], "B", Decimal("0.10")),
        (old_orders["cancelled"], "A", Decimal("2.50")),
        (old_orders["shipped"], "A", Decimal("2.50")),
    ]


def test_old_orders_not_cancelled_get_their_movements_and_the_audit_passes(
    old_orders: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    # when
    apps = migrate_to(AFTER)

    # then: per product, the opening balance, the units the orders hold, then each order's take
    StockMovement = apps.get_model("inventory", "StockMovement")
    rows = StockMovement.objects.order_by("product_id", "id").values_list(
        "product_id", "delta", "count_after", "reason", "order_id", "actor"
    )
    assert list(rows) == [
        ("A", 7, 7, "initial", None, None),
        ("A", 3, 10, "initial", None, None),
        ("A", -2, 8, "order_placed", old_orders["placed"], "alice"),
        ("A", -1, 7, "order_placed", old_orders["shipped"], "alice"),
        ("B", 4, 4, "initial", None, None),
        ("B", -4, 0, "order_placed", old_orders["placed"], "alice"),
    ]
    call_command("stock_audit")
    assert capsys.readouterr().out.startswith("Stock ledger OK")


def test_migrating_back_removes_those_movements_only(old_orders: dict[str, str]) -> None:
    # given
    migrate_to(AFTER)

    # when
    apps = migrate_to([("orders", "0003_orderitem_unit_price")])

    # then
    StockMovement = apps.get_model("inventory", "StockMovement")
    assert list(StockMovement.objects.values_list("product_id", "delta", "reason")) == [
        ("A", 7, "initial")
    ]
