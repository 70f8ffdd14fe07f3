"""Reads of orders. Ownership is enforced here: another user's order is simply not found."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.db.models import Prefetch, Q, QuerySet

from orderservice.common.db.by_key import from_db_fields
from orderservice.inventory.selectors import order_movement_totals
from orderservice.orders.exceptions import OrderNotFound
from orderservice.orders.models import Order, OrderItem
from orderservice.orders.status import OrderStatus


def visible_owner(user: AbstractBaseUser) -> Any:
    """The user_id that `user`'s orders are limited to: their own id, or None for staff (any
    order). Every read and lock of an order asks this."""
    return None if getattr(user, "is_staff", False) else user.pk


def orders_visible_to(user: AbstractBaseUser) -> QuerySet[Order]:
    orders = Order.objects.all()
    owner = visible_owner(user)
    if owner is not None:
        orders = orders.filter(user_id=owner)
    return orders


def _with_items(orders: QuerySet[Order]) -> QuerySet[Order]:
    return orders.prefetch_related(
        Prefetch(
            "items",
            queryset=OrderItem.objects.only("order_id", "product_id", "item_count", "unit_price"),
        )
    )


def order_get_for_user(*, order_id: str, user: AbstractBaseUser) -> Order:
    """The order with its items. Raises OrderNotFound when missing or not visible to `user`."""
    try:
        return _with_items(orders_visible_to(user)).get(id=order_id)
    except Order.DoesNotExist as exc:
        raise OrderNotFound(order_id) from exc


class OrderRead(NamedTuple):
    """An order with its lines (product_id -> count, in the order they were added) and each
    line's unit price: what GET /orders/{id} shows."""

    order: Order
    lines: dict[str, int]
    prices: dict[str, Decimal]


class _OrderSql(NamedTuple):
    """SQL shared by the one-statement reads: an order `o` with its items as three arrays."""

    attnames: list[str]  # of the order's columns, in `select`'s order (for Order.from_db)
    o: dict[str, str]  # field name -> o."column"
    columns: str  # the order's columns, o."id", o."user_id", ...
    select: str  # SELECT the order's columns, then product_ids, item_counts, unit_prices
    items: str  # CROSS JOIN LATERAL: the items of o, as arrays in item id order
    table: str  # the orders table


def _order_sql() -> _OrderSql:
    """An aggregate without GROUP BY gives a row even for no item, of NULL arrays then."""
    quote = connection.ops.quote_name
    fields = from_db_fields(Order)
    o = {field.name: f"o.{quote(field.column)}" for field in fields}
    # The item columns too come as psycopg returns them (from_db_fields refuses otherwise).
    i = {field.name: quote(field.column) for field in from_db_fields(OrderItem)}

    def items(name: str) -> str:
        return f"array_agg({i[name]} ORDER BY {i['id']})"

    columns = ", ".join(o.values())
    return _OrderSql(
        attnames=[field.attname for field in fields],
        o=o,
        columns=columns,
        select=f"SELECT {columns}, i.product_ids, i.item_counts, i.unit_prices",
        items=(
            f"CROSS JOIN LATERAL ("
            f"SELECT {items('product')} AS product_ids, {items('item_count')} AS item_counts,"
            f" {items('unit_price')} AS unit_prices"
            f" FROM {quote(OrderItem._meta.db_table)} WHERE {i['order']} = {o['id']}) i"
        ),
        table=quote(Order._meta.db_table),
    )


# Built once: the ORM built a QuerySet with a Prefetch and compiled its two statements on every
# read. GET /orders/{id} went from 4.24 M to 1.22 M CPU instructions (`make bench-layers`, PG).
_ORDER_SQL = _order_sql()
# One order by id (any owner; the user's own): one row, or none.
_ORDER_READ_ANY = (
    f"{_ORDER_SQL.select} FROM {_ORDER_SQL.table} o {_ORDER_SQL.items}"
    f" WHERE {_ORDER_SQL.o['id']} = %s"
)
_ORDER_READ_OWN = f"{_ORDER_READ_ANY} AND {_ORDER_SQL.o['user']} = %s"


def _order_read_row(row: Sequence[Any]) -> OrderRead:
    """An OrderRead from a row of `_OrderSql.select`: the order's columns, then the arrays."""
    *columns, product_ids, counts, prices = row
    order = Order.from_db(connection.alias, _ORDER_SQL.attnames, columns)
    if product_ids is None:  # no item
        return OrderRead(order, {}, {})
    return OrderRead(
        order,
        dict(zip(product_ids, counts, strict=True)),
        dict(zip(product_ids, prices, strict=True)),
    )


def order_read_for_user(*, order_id: str, user: AbstractBaseUser) -> OrderRead:
    """`order_get_for_user` and `order_lines_priced` in one statement on PostgreSQL, visible as
    `orders_visible_to` says (staff: any order; others: their own, else OrderNotFound).

    As common/db/by_key.py: psycopg returns each column as its field's type, so the order comes
    through `Order.from_db` as the ORM's; on SQLite (NUMERIC as float) it is the ORM's read.
    tests/services/test_order_read.py compares the two field by field on both databases.
    """
    if connection.vendor != "postgresql":
        order = order_get_for_user(order_id=order_id, user=user)
        return OrderRead(order, *order_lines_priced(order))
    owner = visible_owner(user)
    with connection.cursor() as cursor:
        if owner is None:
            cursor.execute(_ORDER_READ_ANY, [order_id])
        else:
            cursor.execute(_ORDER_READ_OWN, [order_id, owner])
        row = cursor.fetchone()
    if row is None:
        raise OrderNotFound(order_id)
    return _order_read_row(row)


def order_list_for_user(
    *,
    user: AbstractBaseUser,
    status: str | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[Order]:
    """Newest first, with items (two queries whatever the page size).

    `after` is the (created_at, id) of the last order of the previous page.
    """
    orders = orders_visible_to(user).order_by("-created_at", "-id")
    if status is not None:
        orders = orders.filter(status=status)
    if after is not None:
        created_at, order_id = after
        orders = orders.filter(
            Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=order_id)
        )
    return list(_with_items(orders)[:limit])


def _order_page_sql(*, own: bool, status: bool, after: bool) -> str:
    """The statement reading a page of orders (`order_list_for_user`'s) with their items: its
    parameters are the user's id if `own`, the status if `status`, the cursor's created_at and
    id if `after`, then the limit.

    The subquery takes the page's orders first, newest first by the index order_user_newest
    (`own`) or order_newest, which the row comparison bounds (a range, not a filter: the same
    rows as `created_at < c OR (created_at = c AND id < i)`); only then does the lateral read
    the items, of the page's orders alone.
    """
    sql = _ORDER_SQL
    o = sql.o
    where = [
        *([f"{o['user']} = %s"] if own else []),
        *([f"{o['status']} = %s"] if status else []),
        *([f"({o['created_at']}, {o['id']}) < (%s, %s)"] if after else []),
    ]
    newest = f"ORDER BY {o['created_at']} DESC, {o['id']} DESC"
    page = (
        f"SELECT {sql.columns} FROM {sql.table} o"
        f"{' WHERE ' + ' AND '.join(where) if where else ''} {newest} LIMIT %s"
    )
    return f"{sql.select} FROM ({page}) o {sql.items} {newest}"


# Built once per variant: (own, status, after) -> the statement. The ORM's two statements (the
# orders, then a Prefetch of their items) were built on every page: GET /orders?limit=20 of
# 3-item orders went from ~5 ms to ~2.2 ms of CPU in-process (PostgreSQL, a busy machine).
_ORDER_PAGES = {
    (own, status, after): _order_page_sql(own=own, status=status, after=after)
    for own in (False, True)
    for status in (False, True)
    for after in (False, True)
}


def order_page_read_for_user(
    *,
    user: AbstractBaseUser,
    status: str | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[OrderRead]:
    """`order_list_for_user` and each order's `order_lines_priced`, in one statement on
    PostgreSQL (built once per variant: no ORM query building); on SQLite the ORM's reads.
    tests/services/test_order_page_read.py compares the two field by field on both databases.
    """
    if connection.vendor != "postgresql":
        orders = order_list_for_user(user=user, status=status, after=after, limit=limit)
        return [OrderRead(order, *order_lines_priced(order)) for order in orders]
    owner = visible_owner(user)
    own = owner is not None
    params: list[Any] = [owner] if own else []
    if status is not None:
        params.append(status)
    if after is not None:
        params.extend(after)
    params.append(limit)
    with connection.cursor() as cursor:
        cursor.execute(_ORDER_PAGES[own, status is not None, after is not None], params)
        rows = cursor.fetchall()
    return [_order_read_row(row) for row in rows]


def order_lines(order: Order) -> dict[str, int]:
    """The order's lines as product_id -> count, in the order they were added."""
    return {item.product_id: item.item_count for item in order.items.all()}


def order_lines_priced(order: Order) -> tuple[dict[str, int], dict[str, Decimal]]:
    """The order's lines (as `order_lines`) and each line's unit price, from one read."""
    items = list(order.items.all())
    return (
        {item.product_id: item.item_count for item in items},
        {item.product_id: item.unit_price for item in items},
    )


@dataclass(frozen=True)
class OrderLedgerMismatch:
    """An order's product whose order movements do not take what the order holds of it."""

    order_id: str
    product_id: str
    held: int  # the line's item_count; 0 when the order is cancelled or has no such line
    taken: int  # minus the sum of the order's movements of the product
    cancelled: bool


def order_ledger_mismatches() -> list[OrderLedgerMismatch]:
    """Each (order, product) whose order_placed/order_edited/order_cancelled movements do not
    add up to minus what the order holds: its line's item_count, or 0 once the order is
    cancelled (its lines stay, its stock went back). Sorted by order, then product."""
    held: dict[tuple[str, str], int] = {}
    cancelled: set[str] = set()
    lines = OrderItem.objects.values_list("order_id", "product_id", "item_count", "order__status")
    for order_id, product_id, count, status in lines.iterator(chunk_size=2000):
        if status == OrderStatus.CANCELLED:
            cancelled.add(order_id)
        held[order_id, product_id] = 0 if status == OrderStatus.CANCELLED else count
    taken = {key: -total for key, total in order_movement_totals().items()}
    mismatches = []
    for order_id, product_id in sorted(held.keys() | taken.keys()):
        holds, took = held.get((order_id, product_id), 0), taken.get((order_id, product_id), 0)
        if holds != took:
            mismatches.append(
                OrderLedgerMismatch(order_id, product_id, holds, took, order_id in cancelled)
            )
    return mismatches


def order_total_count() -> int:
    return Order.objects.count()
