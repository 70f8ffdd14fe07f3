"""What the tests of the one-statement order reads (orders/selectors.py) share: lines that a text
array must quote, in neither product_id nor price order; orders written with them; and the shape
of a read, field by field and type by type, to compare with the ORM's."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User

from orderservice.orders.models import Order, OrderItem
from orderservice.orders.selectors import OrderRead
from tests.factories import ProductFactory

LINES = [
    ("SKU-Z", 3, Decimal("19.99")),
    ("SKU-A", 1, Decimal("0.00")),
    ('a,b "c" {d} NULL \\ ☕', 2_000_000_000, Decimal("9999999.99")),
    ("NULL", 7, Decimal("0.10")),
    ("SKU-M", 2, Decimal("1.50")),
]


def products_create() -> None:
    for product_id, _, _ in LINES:  # a line's unit price is its own: the products' may differ
        ProductFactory.create(product_id=product_id, product_count=100, price=Decimal("5.00"))


def order_with_items(
    user: User,
    lines: list[tuple[str, int, Decimal]],
    *,
    created_at: datetime,
    updated_at: datetime,
    **fields: Any,
) -> Order:
    """An order with these items, inserted in this order (so with increasing item ids)."""
    order = Order.objects.create(user=user, created_at=created_at, updated_at=updated_at, **fields)
    for product_id, count, price in lines:
        OrderItem.objects.create(
            order=order, product_id=product_id, item_count=count, unit_price=price
        )
    return order


def shape(value: object) -> tuple[str, object, str]:
    # repr tells Decimal("1.50") from Decimal("1.5"), an aware datetime's zone, int from bool.
    return type(value).__name__, value, repr(value)


def order_fields(order: Order) -> list[tuple[str, tuple[str, object, str]]]:
    return [
        (field.attname, shape(getattr(order, field.attname)))
        for field in Order._meta.concrete_fields
    ]


def read_shape(read: OrderRead) -> tuple[Any, ...]:
    """Everything a read hands out, typed: the order's fields and state, its lines and prices in
    their order."""
    return (
        order_fields(read.order),
        read.order._state.adding,
        read.order._state.db,
        [(pid, shape(n)) for pid, n in read.lines.items()],
        [(pid, shape(p)) for pid, p in read.prices.items()],
    )
