"""The inventory's write interface: every change to stock goes through these functions.

`stock_decrease`, `stock_increase` and `stock_exchange` join the caller's transaction (they fail
fast outside one) so that stock moves in the same commit as the order change that caused it. On
PostgreSQL each is one statement (stock_sql.py), which a caller may also extend with its own
write. The product_* services own their transactions. Every change of stock writes its movement
(ledger.py) and, when the product's stock status crosses a line (SPEC §12), its event
(stock_events.py, or stock_sql.CROSSING_EVENTS in the one statement) in the change's transaction.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, models, transaction
from django.db.models import Case, F, Value, When

from orderservice.common import clock
from orderservice.common.db import in_transaction, require_transaction
from orderservice.common.db.stored import StoredStatement
from orderservice.events import outbox_sql
from orderservice.events.outbox import events_enabled, events_written
from orderservice.inventory import stock_sql
from orderservice.inventory.exceptions import (
    OutOfStock,
    ProductAlreadyExists,
    ProductNotFound,
    Shortage,
    StockNotAsExpected,
    StockWouldGoNegative,
    UnknownProducts,
)
from orderservice.inventory.ledger import StockChange, movements_record
from orderservice.inventory.locks import products_lock
from orderservice.inventory.models import (
    ADJUSTMENT_REASONS,
    MovementReason,
    Product,
    StockMovement,
)
from orderservice.inventory.stock_events import crossing_event_record, crossing_events_record
from orderservice.inventory.stock_sql import StockDecrease


def stock_decrease(
    counts: Mapping[str, int],
    *,
    partial: bool,
    reason: MovementReason,
    order_id: str | None = None,
    actor: str | None = None,
) -> StockDecrease:
    """Take `counts` off stock, in the caller's transaction; each change is a `reason` movement.

    Locks the products (in product_id order). A line is taken in full or not at all. With
    `partial=False` any shortage takes nothing; with `partial=True` the lines that fit are taken.
    Raises UnknownProducts (nothing written) for ids that do not exist, and OutOfStock when
    nothing at all can be taken or, with `partial=False`, when any line is short: nothing taken,
    only the refused units added to their products' `unfilled_units` (kept if the caller
    commits). The short lines of a partial take are added there too.
    """
    return stock_exchange(
        take=counts,
        give_back={},
        partial=partial,
        reason=reason,
        order_id=order_id,
        actor=actor,
    )


def stock_increase(
    counts: Mapping[str, int],
    *,
    reason: MovementReason,
    order_id: str | None = None,
    actor: str | None = None,
) -> None:
    """Put `counts` back into stock (a cancel or a reduced line), in the caller's transaction."""
    stock_exchange(
        take={}, give_back=counts, partial=False, reason=reason, order_id=order_id, actor=actor
    )


def stock_exchange(
    *,
    take: Mapping[str, int],
    give_back: Mapping[str, int],
    partial: bool = False,
    reason: MovementReason,
    order_id: str | None = None,
    actor: str | None = None,
) -> StockDecrease:
    """Take some products and return others under one set of locks (an order edit).

    Locking both sets together, in one sorted pass, keeps the global lock order that prevents
    deadlocks. Each product whose stock moves gets a movement of `reason`, with `order_id` and
    `actor` (the username whose request it is). Raises as `stock_decrease` does, and writes
    nothing but unfilled_units when it raises.
    """
    require_transaction()
    if not take and not give_back:
        return StockDecrease(taken={})
    if connection.vendor == "postgresql":
        return _exchange_in_one_statement(take, give_back, partial, reason, order_id, actor)
    return _exchange_on_locked_rows(take, give_back, partial, reason, order_id, actor)


def _exchange_on_locked_rows(
    take: Mapping[str, int],
    give_back: Mapping[str, int],
    partial: bool,
    reason: MovementReason,
    order_id: str | None,
    actor: str | None,
) -> StockDecrease:
    # Portable path (SQLite): lock, decide in Python, write all rows in one UPDATE, the
    # movements in one INSERT (their count_after computed from the locked rows).
    wanted = set(take) | set(give_back)
    locked = products_lock(wanted)
    unknown = sorted(wanted - locked.keys())
    if unknown:
        raise UnknownProducts(unknown)

    taken: dict[str, int] = {}
    shortages: list[Shortage] = []
    for product_id, count in take.items():
        available = locked[product_id].product_count
        if available >= count:
            taken[product_id] = count
        else:
            shortages.append(Shortage(product_id, requested=count, available=available))
    if shortages and (not partial or not taken):
        _rows_add("unfilled_units", take)
        raise OutOfStock(shortages)
    _rows_add("unfilled_units", {s.product_id: s.requested for s in shortages})

    deltas = {product_id: -count for product_id, count in taken.items()}
    for product_id, count in give_back.items():
        deltas[product_id] = deltas.get(product_id, 0) + count
    _rows_add("product_count", deltas)
    movements_record(
        [
            StockChange(product_id, delta, locked[product_id].product_count + delta)
            for product_id, delta in sorted(deltas.items())
        ],
        reason=reason,
        order_id=order_id,
        actor=actor,
    )
    crossing_events_record(
        {pid: locked[pid].product_count for pid, delta in deltas.items() if delta}
    )
    prices = {product_id: locked[product_id].price for product_id in taken}
    return StockDecrease(taken=taken, shortages=shortages, prices=prices)


# A PL/pgSQL function (common/db/stored.py), made by migrate and planned once per server
# connection, direct or behind PgBouncer; the app sends its short call.
_EXCHANGE = StoredStatement("stock_exchange", f"WITH {stock_sql.CTES} {stock_sql.RESULT}")
# With events on, the same statement writes the stock-status crossings too (SPEC §12).
_EXCHANGE_WITH_EVENTS = StoredStatement(
    "stock_exchange_events",
    f"WITH {stock_sql.CTES}, {outbox_sql.cte(stock_sql.CROSSING_EVENTS)} {stock_sql.RESULT}",
)
# What migrate makes (inventory/apps.py).
STORED_STATEMENTS = (_EXCHANGE, _EXCHANGE_WITH_EVENTS)


def _exchange_in_one_statement(
    take: Mapping[str, int],
    give_back: Mapping[str, int],
    partial: bool,
    reason: MovementReason,
    order_id: str | None,
    actor: str | None,
) -> StockDecrease:
    # PostgreSQL: lock, decide and write (stock, movements, unfilled units) in a single
    # statement, so the row locks are held for one round trip less and no Python runs between
    # reading stock and writing it.
    params = stock_sql.params(
        take=take,
        give_back=give_back,
        partial=partial,
        now=clock.now(),
        reason=reason,
        order_id=order_id,
        actor=actor,
    )
    if not events_enabled():
        with connection.cursor() as cursor:
            return stock_sql.outcome(_EXCHANGE.execute(cursor, params))
    params.update(stock_sql.crossing_params())
    params.update(outbox_sql.params(created_at=params["stock_now"]))
    with connection.cursor() as cursor:
        rows = _EXCHANGE_WITH_EVENTS.execute(cursor, params)
    decrease = stock_sql.outcome(rows)
    events_written(decrease.crossings)
    return decrease


def _rows_add(column: str, amounts: Mapping[str, int]) -> None:
    # One UPDATE for all products, whatever the line count; the rows are already locked.
    changed = {product_id: amount for product_id, amount in amounts.items() if amount}
    if not changed:
        return
    Product.objects.filter(product_id__in=changed).update(
        **{
            column: F(column)
            + Case(
                *(
                    When(product_id=product_id, then=Value(amount))
                    for product_id, amount in changed.items()
                ),
                output_field=models.BigIntegerField(),
            )
        },
        updated_at=clock.now(),
    )


def product_create(
    *,
    product_id: str,
    name: str,
    product_count: int = 0,
    price: Decimal | None = None,
    low_stock_threshold: int | None = None,
    actor: str | None = None,
) -> Product:
    """Create a product; stock it starts with is its `initial` movement.

    `price` defaults to 0.00, `low_stock_threshold` to settings.LOW_STOCK_THRESHOLD. `actor`: the
    username of who creates it (None: the system). Raises ProductAlreadyExists when the id is taken.
    """
    try:
        return _product_insert(
            product_id=product_id,
            name=name,
            product_count=product_count,
            values=_given(price=price, low_stock_threshold=low_stock_threshold),
            actor=actor,
        )
    except IntegrityError as exc:
        if Product.objects.filter(product_id=product_id).exists():
            raise ProductAlreadyExists(product_id) from exc
        raise


@in_transaction
def _product_insert(
    *, product_id: str, name: str, product_count: int, values: dict[str, Any], actor: str | None
) -> Product:
    # A savepoint: when a caller's transaction is already open (the admin, a test), a duplicate id
    # must roll back only this insert, not leave the caller's transaction unusable.
    now = clock.now()
    with transaction.atomic():
        product = Product.objects.create(
            product_id=product_id,
            name=name,
            product_count=product_count,
            created_at=now,
            updated_at=now,
            **values,
        )
        movements_record(
            [StockChange(product_id, product_count, product_count)],
            reason=MovementReason.INITIAL,
            actor=actor,
        )
        crossing_event_record(product, before=0)  # stock it starts with leaves 0
    return product


@in_transaction
def product_update(
    *,
    product_id: str,
    name: str | None = None,
    product_count: int | None = None,
    price: Decimal | None = None,
    low_stock_threshold: int | None = None,
    actor: str | None = None,
) -> Product:
    """Set the values given (None: unchanged). Locks the product row. Raises ProductNotFound.

    A new stock level is a `correction` movement of the difference (none when it is the same).
    """
    current = _locked_count(product_id)
    values = _given(
        name=name, product_count=product_count, price=price, low_stock_threshold=low_stock_threshold
    )
    Product.objects.filter(product_id=product_id).update(**values, updated_at=clock.now())
    if product_count is not None:
        movements_record(
            [StockChange(product_id, product_count - current, product_count)],
            reason=MovementReason.CORRECTION,
            actor=actor,
        )
    product = Product.objects.get(product_id=product_id)
    crossing_event_record(product, before=current)
    return product


@in_transaction
def product_restock(*, product_id: str, amount: int, actor: str | None = None) -> Product:
    """Add `amount` units to a product's stock, safely beside concurrent orders.

    Locks the product row; writes a `restock` movement. Raises ProductNotFound.
    """
    current = _locked_count(product_id)
    _rows_add("product_count", {product_id: amount})
    movements_record(
        [StockChange(product_id, amount, current + amount)],
        reason=MovementReason.RESTOCK,
        actor=actor,
    )
    product = Product.objects.get(product_id=product_id)
    crossing_event_record(product, before=current)
    return product


@dataclass(frozen=True)
class Adjustment:
    """The movement an adjustment wrote (None when the stock was already at `set_to`), and the
    product after it."""

    movement: StockMovement | None
    product: Product


@in_transaction
def product_adjust(
    *,
    product_id: str,
    delta: int | None = None,
    set_to: int | None = None,
    reason: MovementReason | str,
    note: str | None = None,
    expected_count: int | None = None,
    actor: str | None,
) -> Adjustment:
    """Move a product's stock by `delta`, or set it to `set_to` (exactly one), for `reason`.

    Locks the product row. With `expected_count`, the stock must be exactly that (a count taken
    by hand is never applied over a change it did not see): else StockNotAsExpected. A result
    below 0 raises StockWouldGoNegative. Either way nothing changes. Raises ProductNotFound.
    """
    if (delta is None) == (set_to is None):
        raise ValueError("give exactly one of delta and set_to")
    if reason not in ADJUSTMENT_REASONS:
        raise ValueError(f"not a reason for an adjustment: {reason!r}")
    current = _locked_count(product_id)
    if expected_count is not None and expected_count != current:
        raise StockNotAsExpected(product_id, current)
    after = set_to if set_to is not None else current + (delta or 0)
    if after < 0:
        raise StockWouldGoNegative(product_id, current)
    if after != current:
        _rows_add("product_count", {product_id: after - current})
    movements = movements_record(
        [StockChange(product_id, after - current, after)], reason=reason, actor=actor, note=note
    )
    product = Product.objects.get(product_id=product_id)
    crossing_event_record(product, before=current)
    return Adjustment(movement=movements[0] if movements else None, product=product)


def _locked_count(product_id: str) -> int:
    """Lock the product's row and return its latest committed stock. Raises ProductNotFound."""
    locked = products_lock([product_id])
    if product_id not in locked:
        raise ProductNotFound(product_id)
    return locked[product_id].product_count


def _given(**values: Any) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}
