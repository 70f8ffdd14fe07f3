"""The inventory's write interface: every change to stock goes through these functions.

`stock_decrease`, `stock_increase` and `stock_exchange` join the caller's transaction (they fail
fast outside one) so that stock moves in the same commit as the order change that caused it. On
PostgreSQL each is one statement (stock_sql.py), which a caller may also extend with its own
write. The product_* services own their transactions.
"""

from collections.abc import Mapping

from django.db import IntegrityError, connection, models, transaction
from django.db.models import Case, F, Value, When

from orderservice.common import clock
from orderservice.common.db import in_transaction, require_transaction
from orderservice.inventory import stock_sql
from orderservice.inventory.exceptions import (
    OutOfStock,
    ProductAlreadyExists,
    ProductNotFound,
    Shortage,
    UnknownProducts,
)
from orderservice.inventory.locks import products_lock
from orderservice.inventory.models import Product
from orderservice.inventory.stock_sql import StockDecrease


def stock_decrease(counts: Mapping[str, int], *, partial: bool) -> StockDecrease:
    """Take `counts` off stock, in the caller's transaction.

    Locks the products (in product_id order). A line is taken in full or not at all. With
    `partial=False` any shortage takes nothing; with `partial=True` the lines that fit are taken.
    Raises UnknownProducts (nothing taken) for ids that do not exist, and OutOfStock (nothing
    taken) when nothing at all can be taken or, with `partial=False`, when any line is short.
    """
    return stock_exchange(take=counts, give_back={}, partial=partial)


def stock_increase(counts: Mapping[str, int]) -> None:
    """Put `counts` back into stock (a cancel or a reduced line), in the caller's transaction."""
    stock_exchange(take={}, give_back=counts, partial=False)


def stock_exchange(
    *, take: Mapping[str, int], give_back: Mapping[str, int], partial: bool = False
) -> StockDecrease:
    """Take some products and return others under one set of locks (an order edit).

    Locking both sets together, in one sorted pass, keeps the global lock order that prevents
    deadlocks. Raises as `stock_decrease` does; nothing is written when it raises.
    """
    require_transaction()
    if not take and not give_back:
        return StockDecrease(taken={})
    if connection.vendor == "postgresql":
        return _exchange_in_one_statement(take, give_back, partial)
    return _exchange_on_locked_rows(take, give_back, partial)


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


_EXCHANGE = f"WITH {stock_sql.CTES} {stock_sql.RESULT}"


def _exchange_in_one_statement(
    take: Mapping[str, int], give_back: Mapping[str, int], partial: bool
) -> StockDecrease:
    # PostgreSQL: lock, decide and write in a single statement, so the row locks are held for one
    # round trip less and no Python runs between reading stock and writing it.
    params = stock_sql.params(
        take=take, give_back=give_back, partial=partial, updated_at=clock.now()
    )
    with connection.cursor() as cursor:
        cursor.execute(_EXCHANGE, params)
        return stock_sql.outcome(cursor.fetchall())


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
