"""Stock-status events (SPEC §12) written by the ORM paths of a stock change, in its transaction.

The one-statement paths write the same events in SQL (stock_sql.CROSSING_EVENTS).
"""

from collections.abc import Mapping

from orderservice.events.outbox import event_record, events_enabled
from orderservice.inventory.bodies import product_body
from orderservice.inventory.models import Product
from orderservice.inventory.stock_status import stock_crossing


def crossing_event_record(product: Product, before: int) -> None:
    """The event of `product`'s stock moving from `before` to its count now, if it crossed.

    `product` is as the caller's transaction wrote it (read under its row lock), so `data` is the
    product as committed by this change.
    """
    event_type = stock_crossing(before, product.product_count, product.low_stock_threshold)
    if event_type is not None:
        event_record(event_type, product_body(product), created_at=product.updated_at)


def crossing_events_record(before: Mapping[str, int]) -> None:
    """crossing_event_record for each product of `before` (product_id: count before the change),
    read once, in product_id order; nothing (and no read) when events are off."""
    if not events_enabled() or not before:
        return
    for product in Product.objects.filter(product_id__in=before).order_by("product_id"):
        crossing_event_record(product, before[product.product_id])
