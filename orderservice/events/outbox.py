"""Writing events: one row in the caller's transaction, so an event exists iff its change committed.

`event_record` is for writes made through the ORM (order edits, cancels, status changes). A write
that is one SQL statement inserts its events in a CTE of that statement instead: outbox_sql.py.

The worker is woken on PostgreSQL by a trigger on the events table (migration 0002): it sends
NOTIFY at most once per quarter second per connection, because a transaction that NOTIFYs takes a
database-wide lock at commit; the worker polls too (WEBHOOK_POLL_SECONDS), so nothing waits longer.
"""

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import orjson
from django.conf import settings

from orderservice.common import clock, metrics
from orderservice.common.db import require_transaction
from orderservice.events import metrics as event_metrics
from orderservice.events.event_types import EVENT_TYPES
from orderservice.events.models import Event


def events_enabled() -> bool:
    """EVENTS_ENABLED: off, no event is written (the benchmark's comparison)."""
    return bool(settings.EVENTS_ENABLED)


def event_record(
    event_type: str, data: Mapping[str, Any], *, created_at: datetime | None = None
) -> None:
    """Write one event in the caller's transaction; nothing when events are off.

    `data` is JSON-able (datetimes allowed: written as the API writes them, `...Z`).
    `created_at`: the change's own time (the service's clock.now()), so that the event and the
    change carry one time; clock.now() when not given.
    """
    require_transaction()
    if not events_enabled():
        return
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    Event.objects.create(
        type=event_type, created_at=created_at or clock.now(), data=json_text(data)
    )
    events_written([event_type])


def events_written(event_types: Iterable[str]) -> None:
    """Count events of a write once its transaction commits (one-statement writes call it too)."""
    types = list(event_types)
    metrics.on_commit(lambda: event_metrics.count_written(types))


def json_text(value: Any) -> str:
    """JSON as the API renders it (orjson, UTC times as `...Z`), keys in the order given."""
    return orjson.dumps(value, option=orjson.OPT_UTC_Z).decode()


def json_time(moment: datetime) -> str:
    """A timestamp as the API writes it, for JSON built elsewhere (outbox_sql, attempts)."""
    return json_text(moment).strip('"')
