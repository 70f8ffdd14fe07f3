"""Events written by a one-statement write on PostgreSQL: a CTE the caller adds to its statement.

The ORM paths call outbox.event_record; a write that is ONE statement (placing an order,
orders/placement.py, with inventory/stock_sql.py) cannot, so it inserts its events itself, in the
same statement, with the same columns: `type`, `created_at`, `data` (JSON text). `event_id` and
`xid` are column defaults (models.py), as for the ORM.

    WITH {stock_sql.CTES}, {placement's CTEs},
         {outbox_sql.cte(rows)}
    {stock_sql.RESULT}

`rows` is a SELECT of two columns, (type, data), one row per event to write: UNION ALL the
sources of one statement (the order's event, the stock crossings) into ONE cte() (a CTE name is
used once per statement). Build `data` with json_build_object (it keeps the keys in the order
given); cast every parameter (`%(order_id)s::text`: a bare parameter has no type there); pass
timestamps as text made by outbox.json_time so that they read as the API writes them. Join the
parameters of `params(...)` (named `events_*`) with the statement's own. Count the events once
the statement has run with outbox.events_written([...]).

The order placed is orders/placement.py `_ORDER_PLACED_EVENT` (only when something was taken:
`WHERE EXISTS (SELECT 1 FROM taken)`, its lines priced and totalled as order_body renders them);
the stock crossings are inventory/stock_sql.py `CROSSING_EVENTS`.
"""

from datetime import datetime
from typing import Any

NAME = "events_written"


def cte(rows: str) -> str:
    """The data-modifying CTE inserting one event per row of `rows` (columns: type, data)."""
    return f"""{NAME} AS (
    INSERT INTO events_event (type, created_at, data)
    SELECT event.type, %(events_created_at)s, event.data::text
    FROM ({rows}) AS event(type, data)
)"""


def params(*, created_at: datetime) -> dict[str, Any]:
    """The CTE's parameters: the events' time (the change's). With EVENTS_ENABLED off a caller
    runs its statement without the CTE."""
    return {"events_created_at": created_at}
