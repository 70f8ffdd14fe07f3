"""A product's stock status (SPEC §11): out of stock, low (1 to its threshold), or in stock."""

from django.db import models


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
