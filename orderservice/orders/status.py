"""Order statuses and the transitions between them, as data."""

from django.db import models


class OrderStatus(models.TextChoices):
    PLACED = "placed"
    PROCESSING = "processing"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    OrderStatus.PLACED: frozenset({OrderStatus.PROCESSING, OrderStatus.CANCELLED}),
    OrderStatus.PROCESSING: frozenset({OrderStatus.SHIPPED, OrderStatus.CANCELLED}),
    OrderStatus.SHIPPED: frozenset({OrderStatus.DELIVERED}),
    OrderStatus.DELIVERED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}

EDITABLE_STATUSES = frozenset({OrderStatus.PLACED, OrderStatus.PROCESSING})


def transition_refusal(current: str, target: str) -> str | None:
    """Why an order in `current` cannot move to `target`, or None when it can."""
    if target in ALLOWED_TRANSITIONS[current]:
        return None
    if target == OrderStatus.CANCELLED:
        if current == OrderStatus.CANCELLED:
            return "Order is already cancelled."
        return f"Order is already {current} and can no longer be cancelled."
    if current == target:
        return f"Order is already {current}."
    return f"Order cannot move from {current} to {target}."


def edit_refusal(current: str) -> str | None:
    """Why an order in `current` cannot have its lines edited, or None when it can."""
    if current in EDITABLE_STATUSES:
        return None
    return f"Order is {current} and can no longer be edited."
