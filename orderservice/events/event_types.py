"""The event types of SPEC §12 and the filters that select them (`order.*`)."""

ORDER_PLACED = "order.placed"
ORDER_UPDATED = "order.updated"
ORDER_CANCELLED = "order.cancelled"
ORDER_STATUS_CHANGED = "order.status_changed"
PRODUCT_LOW_STOCK = "product.low_stock"
PRODUCT_OUT_OF_STOCK = "product.out_of_stock"
PRODUCT_BACK_IN_STOCK = "product.back_in_stock"

EVENT_TYPES = (
    ORDER_PLACED,
    ORDER_UPDATED,
    ORDER_CANCELLED,
    ORDER_STATUS_CHANGED,
    PRODUCT_LOW_STOCK,
    PRODUCT_OUT_OF_STOCK,
    PRODUCT_BACK_IN_STOCK,
)
# Every type, or every type of a family: "order.*".
EVENT_FILTERS = (
    *EVENT_TYPES,
    *sorted({event_type.split(".")[0] + ".*" for event_type in EVENT_TYPES}),
)


def prefix_of(event_filter: str) -> str | None:
    """ "order." for "order.*"; None for an exact type."""
    return event_filter[:-1] if event_filter.endswith(".*") else None


def matches(event_filters: list[str], event_type: str) -> bool:
    """Whether a webhook subscribed to `event_filters` gets an event of `event_type`."""
    for event_filter in event_filters:
        prefix = prefix_of(event_filter)
        if event_filter == event_type or (prefix is not None and event_type.startswith(prefix)):
            return True
    return False
