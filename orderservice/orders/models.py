"""Orders and their lines. Stock lives in the inventory; a line only names a product."""

import secrets

from django.conf import settings
from django.db import models

from orderservice.common import clock
from orderservice.orders.status import OrderStatus

ORDER_ID_PREFIX = "ord_"
ORDER_ID_PATTERN = r"ord_[0-9a-f]{24}"


def new_order_id() -> str:
    # 96 random bits: opaque, unguessable and carrying no sequence.
    return ORDER_ID_PREFIX + secrets.token_hex(12)


class Order(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=new_order_id, editable=False)
    # No index of its own: order_user_newest starts with user_id (every order insert writes
    # each index; the lookups and the foreign-key check use that one).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders", db_index=False
    )
    status = models.CharField(
        max_length=16, choices=OrderStatus.choices, default=OrderStatus.PLACED
    )
    # Bumped on every change; it is the order's ETag.
    version = models.PositiveIntegerField(default=1)
    # Written by the services, from clock.now() like every timestamp they write.
    created_at = models.DateTimeField(default=clock.now, editable=False)
    updated_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at", "-id"], name="order_user_newest"),
            models.Index(fields=["-created_at", "-id"], name="order_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.status})"


class OrderItem(models.Model):
    # Indexes: only those a query uses. one_line_per_product (order_id, product_id) serves an
    # order's lines and the order's foreign key; orderitem_product, a product's lines (the
    # PROTECT check when a product is deleted). db_index=False: no duplicate of either, and no
    # `varchar_pattern_ops` (LIKE) copy, which Django adds to a text column's own index and no
    # query here uses; each would be written on every line of every order.
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items", db_index=False)
    product = models.ForeignKey(
        "inventory.Product",
        on_delete=models.PROTECT,
        related_name="+",
        db_column="product_id",
        db_index=False,
    )
    item_count = models.PositiveIntegerField()
    # The product's price when the line entered the order (SPEC §10): kept when the count
    # changes, never touched by a later price change. No default: every writer gives it.
    unit_price = models.DecimalField(max_digits=9, decimal_places=2)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["product"], name="orderitem_product")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(item_count__gt=0), name="item_count_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(unit_price__gte=0), name="unit_price_not_negative"
            ),
            models.UniqueConstraint(fields=["order", "product"], name="one_line_per_product"),
        ]

    def __str__(self) -> str:
        return f"{self.item_count} x {self.product_id}"
