"""Placing an order: the stock taken and the order stored together, or neither.

On PostgreSQL an order is ONE statement, run in autocommit mode (`in_single_statement`): the
inventory's stock CTEs (inventory/stock_sql.py) lock the products, decide, write the stock and
its `order_placed` movements, and this module's CTEs insert the order and its lines from the
stock's `Taken` CTE, each line at the price read from its locked product row. One statement is
its own transaction: no BEGIN or COMMIT round trips, one round trip whatever the line count, and
the product locks are held only while it runs. Its text never changes (one text with events,
one without), and each text is a PL/pgSQL function that migrate makes (common/db/stored.py):
the app sends the short call, `SELECT * FROM place_order_events_<hash>(...)`, and PostgreSQL
plans the ~4 KB statement once per server connection, whoever sends it. So it is planned once
behind PgBouncer in transaction mode too, where nothing can be prepared (`DB_POOLER=pgbouncer`
binds parameters on the client); planning it was about half of its database time.

Lock order: the products, in product_id order, like every writer of stock (inventory/locks.py),
so concurrent orders, edits, cancels and restocks queue instead of deadlocking. A new order has
no order row to lock first.

A shortage (or an unknown product) stores no order: the stock CTEs move stock only once every
locked row has been judged, and the order's CTEs insert only what `Taken` lists, which is empty
then. The result rows tell which case it was; `stock_sql.outcome` raises UnknownProducts or
OutOfStock from them. With `partial`, the lines that fit are taken and the short ones are
reported.

A refusal still writes one thing, in the same statement: the refused units, added to their
products' `unfilled_units` (SPEC §11: every line of an order refused as out of stock, and the
lines left out of a partial one). That is allowed because it is not order data: no order, line,
stock or movement is stored, so there is nothing half-done, and the counter records the refusal
itself, which did happen. Counting it in the statement that decided it costs no round trip,
cannot miss a refusal nor count one twice (a retried attempt did not commit; a replayed
Idempotency-Key runs nothing). So that the count commits when the statement runs inside a
transaction (a keyed request, or SQLite), the refusal is returned out of the unit of work and
raised only once it has committed.

A connection lost while the statement runs is not retried: the statement may have committed, and
a second one would place the order twice. The client gets 503 (DatabaseUnavailable) and retries
safely with an Idempotency-Key. Lock and statement timeouts, deadlocks and serialization failures
did not commit, and are retried within the budget, as for every write (common/db/transactions.py).

Its events (SPEC §12) are written by the same statement, in its one events CTE
(events/outbox_sql.py): `order.placed`, only when the order is stored (a refusal writes none, and
a replayed Idempotency-Key runs nothing), with the order as GET shows it plus `user` and
`version`; then the stock-status crossings of the products taken (stock_sql.CROSSING_EVENTS).
With EVENTS_ENABLED off the statement is the same without that CTE, so it writes nothing and
costs nothing.

Elsewhere (SQLite) the same work is a transaction: `stock_decrease` (stock, movements, stock
events, unfilled units), then the order and its lines inserted and order.placed written, only
when something was taken.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection

from orderservice.common import clock, metrics
from orderservice.common.db import in_single_statement
from orderservice.common.db.stored import StoredStatement
from orderservice.events import event_types, outbox_sql
from orderservice.events.outbox import event_record, events_enabled, events_written, json_time
from orderservice.inventory import stock_sql
from orderservice.inventory.exceptions import OutOfStock, Shortage
from orderservice.inventory.services import MovementReason, stock_decrease
from orderservice.inventory.stock_sql import StockDecrease, Taken
from orderservice.orders.bodies import order_body
from orderservice.orders.models import Order, OrderItem
from orderservice.orders.status import OrderStatus


@dataclass(frozen=True)
class PlacedOrder:
    order: Order
    lines: dict[str, int]
    prices: dict[str, Decimal]  # each line's unit price
    out_of_stock: list[Shortage]


@metrics.timed(metrics.ORDERS_PLACE_SECONDS)
def order_place(*, user: AbstractBaseUser, lines: dict[str, int], partial: bool) -> PlacedOrder:
    """Take stock for `lines` (already merged) and store the order, atomically.

    Locks the products. Raises UnknownProducts, having stored nothing, or OutOfStock, having
    stored only the refused units' unfilled_units.
    """
    now = clock.now()
    order = Order(user_id=user.pk, status=OrderStatus.PLACED, created_at=now, updated_at=now)
    decrease = _order_store(order, user.get_username(), lines, partial)
    if isinstance(decrease, OutOfStock):
        metrics.ORDERS_OUT_OF_STOCK_LINES.inc(len(decrease.shortages))  # final: not retried
        raise decrease
    return PlacedOrder(
        order=order,
        lines=decrease.taken,
        prices=decrease.prices,
        out_of_stock=decrease.shortages,
    )


@in_single_statement
def _order_store(
    order: Order, owner: str, lines: dict[str, int], partial: bool
) -> StockDecrease | OutOfStock:
    try:
        if connection.vendor == "postgresql":
            decrease = _place_in_one_statement(order, owner, lines, partial)
        else:
            decrease = _place_in_transaction(order, owner, lines, partial)
    except OutOfStock as refusal:
        return refusal  # returned, not raised: its unfilled_units commit (see above)
    metrics.on_commit(
        lambda: metrics.order_placed(
            filled_lines=len(decrease.taken), out_of_stock_lines=len(decrease.shortages)
        )
    )
    return decrease


# The order and its lines, inserted only when stock was taken. The lines get ids in request
# order, which is the order GET lists them in.
_ORDER_CTES = f"""
new_order AS (
    INSERT INTO orders_order (id, user_id, status, version, created_at, updated_at)
    SELECT %(order_id)s, %(order_user_id)s, %(order_status)s, %(order_version)s,
           %(order_now)s, %(order_now)s
    WHERE EXISTS (SELECT 1 FROM {Taken.NAME})
),
new_order_items AS (
    INSERT INTO orders_orderitem (order_id, product_id, item_count, unit_price)
    SELECT %(order_id)s, {Taken.PRODUCT_ID}, {Taken.ITEM_COUNT}, {Taken.UNIT_PRICE}
    FROM {Taken.NAME}
    ORDER BY {Taken.POSITION}
)"""

# Its event, order.placed, only when the order is stored: `data` is the order as GET shows it
# (orders/bodies.py order_body: amounts as 2-place text, which NUMERIC(9, 2) arithmetic keeps;
# times as the API writes them, passed as text), plus its owner and version. Then the stock's
# crossings: one events cte per statement.
_ORDER_PLACED_EVENT = f"""
    SELECT '{event_types.ORDER_PLACED}', json_build_object(
        'order_id', %(order_id)s::text, 'order_status', %(order_status)s::text,
        'products', (SELECT json_agg(json_build_object(
                         'product_id', {Taken.PRODUCT_ID}, 'item_count', {Taken.ITEM_COUNT},
                         'unit_price', {Taken.UNIT_PRICE}::text,
                         'line_total', ({Taken.UNIT_PRICE} * {Taken.ITEM_COUNT})::text)
                         ORDER BY {Taken.POSITION})
                     FROM {Taken.NAME}),
        'total', (SELECT sum({Taken.UNIT_PRICE} * {Taken.ITEM_COUNT})::text FROM {Taken.NAME}),
        'currency', %(order_currency)s::text,
        'created_at', %(order_now_json)s::text, 'updated_at', %(order_now_json)s::text,
        'user', %(order_username)s::text, 'version', %(order_version)s::int)
    WHERE EXISTS (SELECT 1 FROM {Taken.NAME})
    UNION ALL
    {stock_sql.CROSSING_EVENTS}"""

# Each statement is a PL/pgSQL function (common/db/stored.py), made by migrate and planned once
# per server connection, direct or behind PgBouncer; the app sends its short call. With events
# off the events cte is left out of the statement entirely: a function of its own.
_PLACE_ORDER = StoredStatement(
    "place_order", f"WITH {stock_sql.CTES}, {_ORDER_CTES} {stock_sql.RESULT}"
)
_PLACE_ORDER_WITH_EVENTS = StoredStatement(
    "place_order_events",
    f"WITH {stock_sql.CTES}, {_ORDER_CTES}, {outbox_sql.cte(_ORDER_PLACED_EVENT)} "
    f"{stock_sql.RESULT}",
)
# What migrate makes (orders/apps.py).
STORED_STATEMENTS = (_PLACE_ORDER, _PLACE_ORDER_WITH_EVENTS)


def _place_in_one_statement(
    order: Order, owner: str, lines: dict[str, int], partial: bool
) -> StockDecrease:
    params = _place_order_params(order, owner, lines, partial)
    if not events_enabled():
        with connection.cursor() as cursor:
            return stock_sql.outcome(_PLACE_ORDER.execute(cursor, params))
    events = _place_order_events_params(order, owner)
    with connection.cursor() as cursor:
        rows = _PLACE_ORDER_WITH_EVENTS.execute(cursor, _params_joined(params, events))
    decrease = stock_sql.outcome(rows)
    events_written([event_types.ORDER_PLACED, *decrease.crossings])
    return decrease


def _place_order_params(
    order: Order, owner: str, lines: dict[str, int], partial: bool
) -> dict[str, Any]:
    stock = stock_sql.params(
        take=lines,
        give_back={},
        partial=partial,
        now=order.created_at,
        reason=MovementReason.ORDER_PLACED,
        order_id=order.id,
        actor=owner,
    )
    own = {
        "order_id": order.id,
        "order_user_id": order.user_id,
        "order_status": order.status,
        "order_version": order.version,
        "order_now": order.created_at,
    }
    return _params_joined(stock, own)


def _place_order_events_params(order: Order, owner: str) -> dict[str, Any]:
    """What _PLACE_ORDER_WITH_EVENTS adds to _place_order_params."""
    own = {
        "order_currency": settings.CURRENCY,
        "order_now_json": json_time(order.created_at),
        "order_username": owner,
    }
    return _params_joined(
        outbox_sql.params(created_at=order.created_at), stock_sql.crossing_params(), own
    )


def _params_joined(*pieces: Mapping[str, Any]) -> dict[str, Any]:
    # Each piece names its own parameters; a name used by two would silently bind one value
    # in both places.
    joined: dict[str, Any] = {}
    for piece in pieces:
        clash = joined.keys() & piece.keys()
        if clash:
            raise ValueError(f"parameter names used by two pieces: {', '.join(sorted(clash))}")
        joined.update(piece)
    return joined


def _place_in_transaction(
    order: Order, owner: str, lines: dict[str, int], partial: bool
) -> StockDecrease:
    decrease = stock_decrease(
        lines,
        partial=partial,
        reason=MovementReason.ORDER_PLACED,
        order_id=order.id,
        actor=owner,
    )
    if decrease.taken:
        order.save(force_insert=True)
        OrderItem.objects.bulk_create(
            OrderItem(
                order=order,
                product_id=product_id,
                item_count=count,
                unit_price=decrease.prices[product_id],
            )
            for product_id, count in decrease.taken.items()
        )
        _placed_event_record(order, owner, decrease)
    return decrease


def _placed_event_record(order: Order, owner: str, decrease: StockDecrease) -> None:
    """order.placed, in the transaction (what the one statement's _ORDER_PLACED_EVENT writes)."""
    if events_enabled():
        data = order_body(order, decrease.taken, decrease.prices)
        data = {**data, "user": owner, "version": order.version}
        event_record(event_types.ORDER_PLACED, data, created_at=order.created_at)
