"""Products and their stock (the only place stock is stored), and the ledger of every change."""

from decimal import Decimal

from django.conf import settings
from django.db import models

from orderservice.common import clock

MAX_PRICE = Decimal("1000000.00")
MAX_THRESHOLD = 1_000_000_000


def default_low_stock_threshold() -> int:
    """A new product's threshold: the deployment's setting at the moment it is created."""
    return int(settings.LOW_STOCK_THRESHOLD)


class Product(models.Model):
    product_id = models.CharField(primary_key=True, max_length=64)
    name = models.CharField(max_length=200)
    product_count = models.BigIntegerField(default=0)
    # NUMERIC(9, 2): exact cents, up to 1,000,000.00, in the one currency of settings.CURRENCY.
    price = models.DecimalField(max_digits=9, decimal_places=2, default=Decimal("0.00"))
    low_stock_threshold = models.BigIntegerField(default=default_low_stock_threshold)
    # Units customers asked for and did not get (SPEC §11); counted by the order side.
    unfilled_units = models.BigIntegerField(default=0)
    # Written by the services, from clock.now() like every timestamp they write.
    created_at = models.DateTimeField(default=clock.now, editable=False)
    updated_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        ordering = ["product_id"]
        constraints = [
            # The last guard against overselling: whatever the code does, stock never goes below 0.
            models.CheckConstraint(
                condition=models.Q(product_count__gte=0), name="product_count_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(price__gte=0, price__lte=MAX_PRICE), name="price_in_range"
            ),
            models.CheckConstraint(
                condition=models.Q(
                    low_stock_threshold__gte=0, low_stock_threshold__lte=MAX_THRESHOLD
                ),
                name="low_stock_threshold_in_range",
            ),
            models.CheckConstraint(
                condition=models.Q(unfilled_units__gte=0), name="unfilled_units_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} ({self.product_count} in stock)"


class MovementReason(models.TextChoices):
    INITIAL = "initial"
    ORDER_PLACED = "order_placed"
    ORDER_EDITED = "order_edited"
    ORDER_CANCELLED = "order_cancelled"
    RESTOCK = "restock"
    CORRECTION = "correction"
    DAMAGED = "damaged"
    RETURNED = "returned"
    FOUND = "found"
    LOST = "lost"


# What staff may give as the reason of a manual adjustment (SPEC §11).
ADJUSTMENT_REASONS = (
    MovementReason.RESTOCK,
    MovementReason.CORRECTION,
    MovementReason.DAMAGED,
    MovementReason.RETURNED,
    MovementReason.FOUND,
    MovementReason.LOST,
)


class StockMovement(models.Model):
    """One change of one product's stock, written in the transaction that made the change.

    For every product the deltas add up to its product_count. `order_id` is a plain string: the
    inventory knows nothing of orders. Within a product, ids follow the order of the changes (each
    is written under the product's row lock), so "newest first" is by id.
    """

    # Every stock change writes rows here, inside the statement that holds the product locks: each
    # index is paid on that hot path. (product, -id) serves a product's ledger and the foreign key
    # alike, so the key gets no index of its own; nothing looks movements up by order_id but the
    # audit, which reads them all.
    product = models.ForeignKey(
        Product,
        on_delete=models.PROTECT,
        db_column="product_id",
        related_name="movements",
        db_index=False,
    )
    delta = models.BigIntegerField()
    count_after = models.BigIntegerField()
    reason = models.CharField(max_length=20, choices=MovementReason.choices)
    # Null, not "", for "none": the movement bodies of SPEC §11 show null, and so does the table.
    order_id = models.CharField(max_length=32, null=True, blank=True)  # noqa: DJ001
    # The username whose request made the change; null: the system (a migration, a command).
    actor = models.CharField(max_length=150, null=True, blank=True)  # noqa: DJ001
    note = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(delta=0), name="movement_delta_not_zero"),
            models.CheckConstraint(
                condition=models.Q(count_after__gte=0), name="movement_count_after_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(reason__in=MovementReason.values), name="movement_reason_known"
            ),
        ]
        indexes = [
            models.Index(fields=["product", "-id"], name="movement_product_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.movement_id}: {self.product_id} {self.delta:+d} ({self.reason})"

    @property
    def movement_id(self) -> str:
        return f"mov_{self.pk}"
