"""Writing the stock ledger: one movement per change of a product's stock, in the change's
transaction. Every writer of stock records through `movements_record`."""

from collections.abc import Iterable
from typing import NamedTuple

from orderservice.common import clock
from orderservice.common.db import require_transaction
from orderservice.inventory.models import MovementReason, StockMovement


class StockChange(NamedTuple):
    """A product's stock moved by `delta` and now stands at `count_after` (read under its lock)."""

    product_id: str
    delta: int
    count_after: int


def movements_record(
    changes: Iterable[StockChange | tuple[str, int, int]],
    *,
    reason: MovementReason | str,
    order_id: str | None = None,
    actor: str | None = None,
    note: str | None = None,
) -> list[StockMovement]:
    """Write a movement for each change with a non-zero delta (one INSERT), in the caller's
    transaction.

    `count_after` must be the product's new stock as the caller's transaction wrote it, under the
    row lock (an UPDATE ... RETURNING, or the value computed from the locked row), never a second
    read. A change of 0 writes nothing. Returns the movements written, in the order given.
    """
    require_transaction()
    reason = MovementReason(reason)  # an unknown reason is a bug: ValueError
    now = clock.now()
    movements = [
        StockMovement(
            product_id=product_id,
            delta=delta,
            count_after=count_after,
            reason=reason,
            order_id=order_id,
            actor=actor,
            note=note,
            created_at=now,
        )
        for product_id, delta, count_after in changes
        if delta
    ]
    if not movements:
        return []
    return StockMovement.objects.bulk_create(movements)
