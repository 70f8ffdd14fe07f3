"""A product's stock status (SPEC §11): out of stock, low (1 to its threshold), or in stock."""

from django.db import models

from orderservice.events import event_types


class StockStatus(models.TextChoices):
    OUT_OF_STOCK = "out_of_stock"
    LOW_STOCK = "low_stock"
    IN_STOCK = "in_stock"


def stock_status(count: int, threshold: int) -> StockStatus:
    if count <= 0:
        return StockStatus.OUT_OF_STOCK
    if count <= threshold:
        return StockStatus.LOW_STOCK
    return StockStatus.IN_STOCK


def stock_crossing(before: int, after: int, threshold: int) -> str | None:
    """The event type of a stock change from `before` to `after` (SPEC §12), or None.

    At most one per change: reaching 0 is out_of_stock, leaving 0 is back_in_stock (whatever the
    new status), in_stock to low_stock is low_stock. stock_sql.CROSSING_EVENTS is the same rule
    in SQL.
    """
    if before > 0 and after <= 0:
        return event_types.PRODUCT_OUT_OF_STOCK
    if before <= 0 and after > 0:
        return event_types.PRODUCT_BACK_IN_STOCK
    if (
        stock_status(before, threshold) == StockStatus.IN_STOCK
        and stock_status(after, threshold) == StockStatus.LOW_STOCK
    ):
        return event_types.PRODUCT_LOW_STOCK
    return None


def stock_status_condition(status: str) -> models.Q:
    """The products whose status is `status`, as a filter (the same rule as `stock_status`)."""
    if status == StockStatus.OUT_OF_STOCK:
        return models.Q(product_count__lte=0)
    if status == StockStatus.LOW_STOCK:
        return models.Q(product_count__gt=0, product_count__lte=models.F("low_stock_threshold"))
    if status == StockStatus.IN_STOCK:
        # The threshold is never negative (a CHECK constraint), so above it is above 0 as well.
        return models.Q(product_count__gt=models.F("low_stock_threshold"))
    raise ValueError(f"unknown stock status: {status!r}")
