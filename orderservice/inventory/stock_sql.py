"""A stock change as one PostgreSQL statement, in named pieces a caller may extend.

Run alone: `WITH {CTES} {RESULT}` with `params(...)`, then `outcome(rows)`. A caller whose own
write must commit with the stock (placing an order: orders/placement.py) puts its data-modifying
CTEs between the two, `WITH {CTES}, its_cte AS (...) {RESULT}`, reading `Taken`: the lines
taken. `params` names its parameters `stock_*`; the caller adds its own beside them (placement
refuses a name used twice), and PostgreSQL refuses a CTE name used twice.

How it decides: `locked` takes the row locks in product_id order (the global lock order; see
locks.py). `moved` cannot write before `decision` has read every locked row, so a shortage
moves no stock. It writes `available - delta`, not `p.product_count - delta`: `p` is read with
the statement's snapshot, which may predate a change committed while this statement waited for
the lock, and PostgreSQL checks the CHECK constraint on the row computed from that stale version
before it re-evaluates the row (READ COMMITTED). A restock or cancel racing an order would then
fail the constraint (a 500) though the stock suffices. `available` is the latest version, read
under the lock, so it cannot change until commit.

What it writes besides the stock, in the same statement: a movement (the ledger, ledger.py) for
each product whose stock moved, in product_id order (the lock order; `moved` itself comes in
whatever order the plan joins it), its `count_after` the moved row's new value (`moved`'s RETURNING,
never a second read), its reason, order_id and actor given as parameters (the inventory knows
nothing of orders); and `unfilled_units` (SPEC §11), the units asked for and not given: the short
lines of a partial take, every line to take of a refused one (none when a product is unknown).
A refusal writes only that counter: a caller that commits the refusal keeps the count and
nothing else. `unfilled` may add to a stale `p.unfilled_units`: the CHECK cannot fail on a count
that only grows, and PostgreSQL recomputes the row from the latest version. `Taken` carries each
line's price as read from the locked row: the price the units were taken at.

Its events (SPEC §12), when events are on: CROSSING_EVENTS, the stock-status crossings of the
products moved, rows for the statement's one outbox_sql.cte (`WITH {CTES}, {cte(rows)} {RESULT}`;
a caller with events of its own UNION ALLs them into the same cte). `outcome` lists the types
written (`crossings`), for the metrics. With events off the statement leaves the cte out.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings

from orderservice.events import event_types
from orderservice.inventory.exceptions import OutOfStock, Shortage, UnknownProducts
from orderservice.inventory.models import MovementReason
from orderservice.inventory.stock_status import StockStatus, stock_crossing


@dataclass(frozen=True)
class StockDecrease:
    """What was taken, by product, the lines the stock could not fill in full, and the price of
    each product taken (read from its locked row)."""

    taken: dict[str, int]
    shortages: list[Shortage] = field(default_factory=list)
    prices: dict[str, Decimal] = field(default_factory=dict)
    # The types of the stock-status events of the products moved (CROSSING_EVENTS), in
    # product_id order: what the statement wrote, for the metrics; not part of what was done.
    crossings: list[str] = field(default_factory=list, compare=False)


class Taken:
    """The CTE listing the lines taken, in request order; empty when nothing is taken."""

    NAME = "taken"
    PRODUCT_ID = "product_id"
    ITEM_COUNT = "item_count"
    UNIT_PRICE = "unit_price"  # the product's price, read from its locked row
    POSITION = "ord"  # the line's place in the request, from 1


CTES = f"""req AS (
    SELECT r.product_id, r.delta, r.ord
    FROM unnest(%(stock_ids)s::text[], %(stock_deltas)s::bigint[])
         WITH ORDINALITY AS r(product_id, delta, ord)
),
locked AS (
    SELECT p.product_id, p.product_count, p.price, p.low_stock_threshold
    FROM inventory_product p
    WHERE p.product_id = ANY(%(stock_ids)s::text[])
    ORDER BY p.product_id
    FOR UPDATE
),
verdict AS (
    SELECT req.product_id, req.delta, req.ord, locked.product_count AS available, locked.price,
           locked.low_stock_threshold AS threshold, locked.product_id IS NULL AS unknown,
           locked.product_id IS NOT NULL
               AND (req.delta <= 0 OR locked.product_count >= req.delta) AS fits
    FROM req LEFT JOIN locked ON locked.product_id = req.product_id
),
decision AS (
    SELECT NOT bool_or(unknown) AS known,
           NOT bool_or(unknown)
           AND CASE WHEN %(stock_partial)s THEN bool_or(fits AND delta > 0)
                    ELSE bool_and(fits) END AS go
    FROM verdict
),
moved AS (
    UPDATE inventory_product p
    SET product_count = verdict.available - verdict.delta, updated_at = %(stock_now)s
    FROM verdict, decision
    WHERE decision.go AND verdict.fits AND verdict.delta <> 0
      AND p.product_id = verdict.product_id
    RETURNING p.product_id, p.product_count, verdict.delta, verdict.available, p.name, p.price,
              p.low_stock_threshold, p.unfilled_units
),
stock_movements AS (
    INSERT INTO inventory_stockmovement
        (product_id, delta, count_after, reason, order_id, actor, note, created_at)
    SELECT moved.product_id, -moved.delta, moved.product_count, %(stock_reason)s::text,
           %(stock_order_id)s::text, %(stock_actor)s::text, NULL, %(stock_now)s
    FROM moved
    ORDER BY moved.product_id
),
unfilled AS (
    UPDATE inventory_product p
    SET unfilled_units = p.unfilled_units + verdict.delta, updated_at = %(stock_now)s
    FROM verdict, decision
    WHERE decision.known AND verdict.delta > 0 AND NOT (decision.go AND verdict.fits)
      AND p.product_id = verdict.product_id
),
{Taken.NAME} AS (
    SELECT verdict.product_id AS {Taken.PRODUCT_ID}, verdict.delta AS {Taken.ITEM_COUNT},
           verdict.price AS {Taken.UNIT_PRICE}, verdict.ord AS {Taken.POSITION}
    FROM verdict, decision
    WHERE decision.go AND verdict.fits AND verdict.delta > 0
)"""

# One row per requested product, in request order: what `outcome` reads.
RESULT = """
SELECT verdict.product_id, verdict.delta, verdict.available, verdict.unknown, verdict.fits,
       decision.go, verdict.price, verdict.threshold
FROM verdict, decision
ORDER BY verdict.ord
"""


def _status_sql(count: str, threshold: str) -> str:
    # stock_status.stock_status, in SQL.
    return f"""CASE WHEN {count} <= 0 THEN '{StockStatus.OUT_OF_STOCK.value}'
         WHEN {count} <= {threshold} THEN '{StockStatus.LOW_STOCK.value}'
         ELSE '{StockStatus.IN_STOCK.value}' END"""


# The stock-status events of the products `moved` (SPEC §12), as rows (type, data) for an
# outbox_sql.cte: stock_status.stock_crossing in SQL, from the count before (`available`, read
# under the lock) and after (`moved`'s RETURNING); `data` is the product as inventory/bodies.py
# renders it (a NUMERIC(9, 2) as text has its two places), as this statement wrote it. In
# parentheses, so that a caller may UNION ALL it after its own rows.
CROSSING_EVENTS = f"""(
    SELECT crossing.type, json_build_object(
        'product_id', moved.product_id, 'name', moved.name,
        'product_count', moved.product_count, 'price', moved.price::text,
        'currency', %(stock_currency)s::text,
        'stock_status', {_status_sql("moved.product_count", "moved.low_stock_threshold")},
        'low_stock_threshold', moved.low_stock_threshold,
        'unfilled_units', moved.unfilled_units)
    FROM moved, LATERAL (SELECT CASE
        WHEN moved.available > 0 AND moved.product_count <= 0
            THEN '{event_types.PRODUCT_OUT_OF_STOCK}'
        WHEN moved.available <= 0 AND moved.product_count > 0
            THEN '{event_types.PRODUCT_BACK_IN_STOCK}'
        WHEN moved.available > moved.low_stock_threshold
             AND moved.product_count > 0 AND moved.product_count <= moved.low_stock_threshold
            THEN '{event_types.PRODUCT_LOW_STOCK}'
    END) AS crossing(type)
    WHERE crossing.type IS NOT NULL
    ORDER BY moved.product_id
)"""


def params(
    *,
    take: Mapping[str, int],
    give_back: Mapping[str, int],
    partial: bool,
    now: datetime,
    reason: MovementReason,
    order_id: str | None,
    actor: str | None,
) -> dict[str, Any]:
    """The parameters of CTES: the stock moves; the time written on the products moved and on
    their movements; the movements' reason, order_id and actor."""
    deltas = dict(take)
    for product_id, count in give_back.items():
        deltas[product_id] = deltas.get(product_id, 0) - count
    return {
        "stock_ids": list(deltas),
        "stock_deltas": list(deltas.values()),
        "stock_partial": partial,
        "stock_now": now,
        "stock_reason": MovementReason(reason).value,
        "stock_order_id": order_id,
        "stock_actor": actor,
    }


def crossing_params() -> dict[str, Any]:
    """The parameters CROSSING_EVENTS adds to `params`: the currency of the product bodies."""
    return {"stock_currency": settings.CURRENCY}


def outcome(rows: Sequence[tuple[Any, ...]]) -> StockDecrease:
    """What the statement did, from RESULT's rows; raises as `stock_exchange` does.

    UnknownProducts means the statement wrote nothing; OutOfStock, that it wrote only the
    refused units' unfilled_units, and `Taken.NAME` was empty. No rows (nothing requested):
    nothing taken.
    """
    unknown = sorted(row[0] for row in rows if row[3])
    if unknown:
        raise UnknownProducts(unknown)
    shortages = [
        Shortage(product_id, requested=delta, available=available)
        for product_id, delta, available, _, fits, *_ in rows
        if not fits
    ]
    if rows and not rows[0][5]:
        raise OutOfStock(shortages)
    taken_rows = [row for row in rows if row[4] and row[1] > 0]
    moved_rows = sorted(row for row in rows if row[4] and row[1] != 0)
    crossings = [stock_crossing(row[2], row[2] - row[1], row[7]) for row in moved_rows]
    return StockDecrease(
        taken={product_id: delta for product_id, delta, *_ in taken_rows},
        shortages=shortages,
        prices={row[0]: row[6] for row in taken_rows},
        crossings=[event_type for event_type in crossings if event_type is not None],
    )
