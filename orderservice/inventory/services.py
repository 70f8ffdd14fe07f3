"""The inventory's write interface: every change to stock goes through these functions.

`stock_decrease`, `stock_increase` and `stock_exchange` join the caller's transaction (they fail
fast outside one) so that stock moves in the same commit as the order change that caused it.
`stock_decrease` can instead carry the caller's write along (`then=`): on PostgreSQL both become
one statement, which is its own transaction. The product_* services own their transactions.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection, models, transaction
from django.db.models import Case, F, Value, When

from orderservice.common import clock
from orderservice.common.db import in_transaction, require_transaction
from orderservice.inventory.exceptions import (
    OutOfStock,
    ProductAlreadyExists,
    ProductNotFound,
    Shortage,
    UnknownProducts,
)
from orderservice.inventory.locks import products_lock
from orderservice.inventory.models import Product


@dataclass(frozen=True)
class StockDecrease:
    """What was taken, by product, and the lines the stock could not fill in full."""

    taken: dict[str, int]
    shortages: list[Shortage] = field(default_factory=list)


@dataclass(frozen=True)
class StockFollowUp:
    """The caller's write that must commit with a stock decrease, and only if stock was taken.

    On PostgreSQL, `sql` is one or more data-modifying CTEs ("name AS (INSERT ...)", comma
    separated) appended to the stock statement; they may read `taken(product_id, item_count,
    ord)`, the lines taken, in request order, which is empty when nothing is taken. Their
    parameter names must not start with `stock_`. Elsewhere `apply(taken)` runs after the stock
    is written, in the same transaction, and only when something was taken.
    """

    sql: str
    params: Mapping[str, Any]
    apply: Callable[[dict[str, int]], None]


def stock_decrease(
    counts: Mapping[str, int], *, partial: bool, then: StockFollowUp | None = None
) -> StockDecrease:
    """Take `counts` off stock, in the caller's transaction, and perform `then` with it.

    Locks the products (in product_id order). A line is taken in full or not at all. With
    `partial=False` any shortage takes nothing; with `partial=True` the lines that fit are taken.
    Raises UnknownProducts (nothing taken) for ids that do not exist, and OutOfStock (nothing
    taken) when nothing at all can be taken or, with `partial=False`, when any line is short;
    `then` has written nothing either. With `then` on PostgreSQL no transaction is needed: the
    whole is a single statement.
    """
    return stock_exchange(take=counts, give_back={}, partial=partial, then=then)


def stock_increase(counts: Mapping[str, int]) -> None:
    """Put `counts` back into stock (a cancel or a reduced line), in the caller's transaction."""
    stock_exchange(take={}, give_back=counts, partial=False)


def stock_exchange(
    *,
    take: Mapping[str, int],
    give_back: Mapping[str, int],
    partial: bool = False,
    then: StockFollowUp | None = None,
) -> StockDecrease:
    """Take some products and return others under one set of locks (an order edit).

    Locking both sets together, in one sorted pass, keeps the global lock order that prevents
    deadlocks. Raises as `stock_decrease` does; nothing is written when it raises.
    """
    if then is None or connection.vendor != "postgresql":
        require_transaction()
    if not take and not give_back:
        return StockDecrease(taken={})
    if connection.vendor == "postgresql":
        return _exchange_in_one_statement(take, give_back, partial, then)
    exchange = _exchange_on_locked_rows(take, give_back, partial)
    if then is not None:
        then.apply(exchange.taken)
    return exchange


def _exchange_on_locked_rows(
    take: Mapping[str, int], give_back: Mapping[str, int], partial: bool
) -> StockDecrease:
    # Portable path (SQLite): lock, decide in Python, write all rows in one UPDATE.
    wanted = set(take) | set(give_back)
    stock = products_lock(wanted)
    unknown = sorted(wanted - stock.keys())
    if unknown:
        raise UnknownProducts(unknown)

    taken: dict[str, int] = {}
    shortages: list[Shortage] = []
    for product_id, count in take.items():
        if stock[product_id] >= count:
            taken[product_id] = count
        else:
            shortages.append(Shortage(product_id, requested=count, available=stock[product_id]))
    if shortages and (not partial or not taken):
        raise OutOfStock(shortages)

    deltas = {product_id: -count for product_id, count in taken.items()}
    for product_id, count in give_back.items():
        deltas[product_id] = deltas.get(product_id, 0) + count
    _apply_deltas(deltas)
    return StockDecrease(taken=taken, shortages=shortages)


# PostgreSQL: lock, decide and write in a single statement, so the row locks are held for one
# round trip less and no Python runs between reading stock and writing it. `locked` takes the
# row locks in product_id order (the global lock order; see locks.py). `moved` cannot write before
# `decision` has read every locked row. It writes `available - delta`, not `p.product_count -
# delta`: `p` is read with the statement's snapshot, which may predate a change committed while
# this statement waited for the lock, and PostgreSQL checks the CHECK constraint on the row
# computed from that stale version before it re-evaluates the row (READ COMMITTED). A restock or
# cancel racing an order would then fail the constraint (a 500) though the stock suffices.
# `available` is the latest version, read under the lock, so it cannot change until commit.
_EXCHANGE_CTES = """
WITH req AS (
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
taken AS (
    SELECT verdict.product_id, verdict.delta AS item_count, verdict.ord
    FROM verdict, decision
    WHERE decision.go AND verdict.fits AND verdict.delta > 0
)
"""
_EXCHANGE_RESULT = """
SELECT verdict.product_id, verdict.delta, verdict.available, verdict.unknown, verdict.fits,
       decision.go
FROM verdict, decision
ORDER BY verdict.ord
"""


def _exchange_in_one_statement(
    take: Mapping[str, int],
    give_back: Mapping[str, int],
    partial: bool,
    then: StockFollowUp | None,
) -> StockDecrease:
    deltas = dict(take)
    for product_id, count in give_back.items():
        deltas[product_id] = deltas.get(product_id, 0) - count
    params: dict[str, Any] = {
        "stock_ids": list(deltas),
        "stock_deltas": list(deltas.values()),
        "stock_partial": partial,
        "stock_updated_at": clock.now(),
    }
    sql = _EXCHANGE_CTES
    if then is not None:
        sql = f"{sql}, {then.sql}"
        params.update(then.params)
    with connection.cursor() as cursor:
        cursor.execute(sql + _EXCHANGE_RESULT, params)
        rows = cursor.fetchall()
    unknown = sorted(product_id for product_id, _, _, is_unknown, _, _ in rows if is_unknown)
    if unknown:
        raise UnknownProducts(unknown)
    shortages = [
        Shortage(product_id, requested=delta, available=available)
        for product_id, delta, available, _, fits, _ in rows
        if not fits
    ]
    if not rows[0][5]:
        raise OutOfStock(shortages)
    taken = {product_id: delta for product_id, delta, _, _, fits, _ in rows if fits and delta > 0}
    return StockDecrease(taken=taken, shortages=shortages)


def _apply_deltas(deltas: Mapping[str, int]) -> None:
    # One UPDATE for all products, whatever the line count; the rows are already locked.
    changed = {product_id: delta for product_id, delta in deltas.items() if delta}
    if not changed:
        return
    Product.objects.filter(product_id__in=changed).update(
        product_count=F("product_count")
        + Case(
            *(
                When(product_id=product_id, then=Value(delta))
                for product_id, delta in changed.items()
            ),
            output_field=models.BigIntegerField(),
        ),
        updated_at=clock.now(),
    )


def product_create(*, product_id: str, name: str, product_count: int) -> Product:
    """Create a product. Raises ProductAlreadyExists when the id is taken."""
    try:
        return _product_insert(product_id=product_id, name=name, product_count=product_count)
    except IntegrityError as exc:
        raise ProductAlreadyExists(product_id) from exc


@in_transaction
def _product_insert(*, product_id: str, name: str, product_count: int) -> Product:
    # A savepoint: when a caller's transaction is already open (the admin, a test), a duplicate id
    # must roll back only this insert, not leave the caller's transaction unusable.
    now = clock.now()
    with transaction.atomic():
        return Product.objects.create(
            product_id=product_id,
            name=name,
            product_count=product_count,
            created_at=now,
            updated_at=now,
        )


@in_transaction
def product_update(
    *, product_id: str, name: str | None = None, product_count: int | None = None
) -> Product:
    """Set a product's name and/or stock level. Locks the product row. Raises ProductNotFound."""
    if product_id not in products_lock([product_id]):
        raise ProductNotFound(product_id)
    product = Product.objects.get(product_id=product_id)
    if name is not None:
        product.name = name
    if product_count is not None:
        product.product_count = product_count
    product.updated_at = clock.now()
    product.save(update_fields=["name", "product_count", "updated_at"])
    return product


@in_transaction
def product_restock(*, product_id: str, amount: int) -> Product:
    """Add `amount` units to a product's stock, safely beside concurrent orders.

    Locks the product row. Raises ProductNotFound.
    """
    if product_id not in products_lock([product_id]):
        raise ProductNotFound(product_id)
    _apply_deltas({product_id: amount})
    return Product.objects.get(product_id=product_id)
