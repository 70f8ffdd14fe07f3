"""A stock change as one PostgreSQL statement, in named pieces a caller may extend.

Run alone: `WITH {CTES} {RESULT}` with `params(...)`, then `outcome(rows)`. A caller whose own
write must commit with the stock (placing an order: orders/placement.py) puts its data-modifying
CTEs between the two, `WITH {CTES}, its_cte AS (...) {RESULT}`, reading `Taken`: the lines
taken. `params` names its parameters `stock_*`; the caller adds its own beside them (placement
refuses a name used twice), and PostgreSQL refuses a CTE name used twice.

How it decides: `locked` takes the row locks in product_id order (the global lock order; see
locks.py). `moved` cannot write before `decision` has read every locked row, so a shortage
writes nothing. It writes `available - delta`, not `p.product_count - delta`: `p` is read with
the statement's snapshot, which may predate a change committed while this statement waited for
the lock, and PostgreSQL checks the CHECK constraint on the row computed from that stale version
before it re-evaluates the row (READ COMMITTED). A restock or cancel racing an order would then
fail the constraint (a 500) though the stock suffices. `available` is the latest version, read
under the lock, so it cannot change until commit.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from orderservice.inventory.exceptions import OutOfStock, Shortage, UnknownProducts


@dataclass(frozen=True)
class StockDecrease:
    """What was taken, by product, and the lines the stock could not fill in full."""

    taken: dict[str, int]
    shortages: list[Shortage] = field(default_factory=list)


class Taken:
    """The CTE listing the lines taken, in request order; empty when nothing is taken."""

    NAME = "taken"
    PRODUCT_ID = "product_id"
    ITEM_COUNT = "item_count"
    POSITION = "ord"  # the line's place in the request, from 1


CTES = f"""req AS (
    SELECT r.product_id, r.delta, r.ord
    FROM unnest(%(stock_ids)s::text[], %(stock_deltas)s::bigint[])
         WITH ORDINALITY AS r(product_id, delta, ord)
),
locked AS (
    SELECT p.product_id, p.product_count
    FROM inventory_product p
    WHERE p.product_id = ANY(%(stock_ids)s::text[])
    ORDER BY p.product_id
    FOR UPDATE
),
verdict AS (
    SELECT req.product_id, req.delta, req.ord, locked.product_count AS available,
           locked.product_id IS NULL AS unknown,
           locked.product_id IS NOT NULL
               AND (req.delta <= 0 OR locked.product_count >= req.delta) AS fits
    FROM req LEFT JOIN locked ON locked.product_id = req.product_id
),
decision AS (
    SELECT NOT bool_or(unknown)
           AND CASE WHEN %(stock_partial)s THEN bool_or(fits AND delta > 0)
                    ELSE bool_and(fits) END AS go
    FROM verdict
),
moved AS (
    UPDATE inventory_product p
    SET product_count = verdict.available - verdict.delta, updated_at = %(stock_updated_at)s
    FROM verdict, decision
    WHERE decision.go AND verdict.fits AND verdict.delta <> 0
      AND p.product_id = verdict.product_id
    RETURNING p.product_id
),
{Taken.NAME} AS (
    SELECT verdict.product_id AS {Taken.PRODUCT_ID}, verdict.delta AS {Taken.ITEM_COUNT},
           verdict.ord AS {Taken.POSITION}
    FROM verdict, decision
    WHERE decision.go AND verdict.fits AND verdict.delta > 0
)"""

# One row per requested product, in request order: what `outcome` reads.
RESULT = """
SELECT verdict.product_id, verdict.delta, verdict.available, verdict.unknown, verdict.fits,
       decision.go
FROM verdict, decision
ORDER BY verdict.ord
"""


def params(
    *,
    take: Mapping[str, int],
    give_back: Mapping[str, int],
    partial: bool,
    updated_at: datetime,
) -> dict[str, Any]:
    """The parameters of CTES: the stock moves, and the time written on the products moved."""
    deltas = dict(take)
    for product_id, count in give_back.items():
        deltas[product_id] = deltas.get(product_id, 0) - count
    return {
        "stock_ids": list(deltas),
        "stock_deltas": list(deltas.values()),
        "stock_partial": partial,
        "stock_updated_at": updated_at,
    }


def outcome(rows: Sequence[tuple[Any, ...]]) -> StockDecrease:
    """What the statement did, from RESULT's rows; raises as `stock_exchange` does.

    UnknownProducts or OutOfStock mean the statement wrote no stock, and `Taken.NAME` was empty.
    No rows (nothing requested): nothing taken.
    """
    unknown = sorted(product_id for product_id, _, _, is_unknown, _, _ in rows if is_unknown)
    if unknown:
        raise UnknownProducts(unknown)
    shortages = [
        Shortage(product_id, requested=delta, available=available)
        for product_id, delta, available, _, fits, _ in rows
        if not fits
    ]
    if rows and not rows[0][5]:
        raise OutOfStock(shortages)
    taken = {product_id: delta for product_id, delta, _, _, fits, _ in rows if fits and delta > 0}
    return StockDecrease(taken=taken, shortages=shortages)
