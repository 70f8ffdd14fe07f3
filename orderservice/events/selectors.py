"""Reads: the event feed, webhook endpoints and their deliveries.

The feed never skips an event (SPEC §12). On PostgreSQL an id from a sequence is taken when a row
is inserted, not when its transaction commits: T1 takes id 100, T2 takes 101 and commits first,
and a reader that has gone past 101 never sees 100. So each event records the id of the
transaction that wrote it (`xid`, pg_current_xact_id()), and the feed serves only events whose
transaction id is below the xmin of the reader's snapshot: every transaction with a smaller id has
ended, so no event can appear before a position already served. Events are served in (xid, id)
order, the cursor is that pair, and commits that come later get later positions. The price: an
event waits, unserved, while a transaction that began before its own is still running (bounded by
the statement and idle-in-transaction timeouts). Nothing else is written after commit, and no
relay is needed for the feed itself.

The xmin counts the reader's own transaction too: read the feed outside a writing transaction
(the API's reads run in autocommit), or it stops at the reader's own id.

On SQLite one transaction writes at a time (BEGIN IMMEDIATE), so id order is commit order; xid
is 0 there and (xid, id) is just id.
"""

from datetime import datetime

from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL

from orderservice.events.event_types import prefix_of
from orderservice.events.exceptions import DeliveryNotFound, UnknownEvent, WebhookNotFound
from orderservice.events.models import Delivery, Event, WebhookEndpoint

Position = tuple[int, int]  # (xid, id)

# Below this, every transaction has ended (committed or rolled back) for the reader's snapshot.
_SNAPSHOT_XMIN = "pg_snapshot_xmin(pg_current_snapshot())::text::bigint"


def event_feed(*, after: Position | None, event_filter: str | None, limit: int) -> list[Event]:
    """Up to `limit` events after `after`, in commit order, of one type or family (`order.*`)."""
    events = _served(Event.objects.all())
    if after is not None:
        xid, pk = after
        # The redundant `xid >= ` lets the (xid, id) index start at the cursor.
        events = events.filter(Q(xid__gte=xid) & (Q(xid__gt=xid) | Q(id__gt=pk)))
    if event_filter is not None:
        prefix = prefix_of(event_filter)
        events = (
            events.filter(type__startswith=prefix) if prefix else events.filter(type=event_filter)
        )
    return list(events.order_by("xid", "id")[:limit])


def event_position(*, event_id: str) -> Position:
    """The feed position of an event kept in the feed; raises UnknownEvent."""
    try:
        xid, pk = Event.objects.values_list("xid", "id").get(event_id=event_id)
    except Event.DoesNotExist as exc:
        raise UnknownEvent(event_id) from exc
    return xid, pk


def oldest_unserved_or_pending(*, after: Position) -> datetime | None:
    """When the oldest event was written that is past `after` or still has a pending delivery."""
    xid, pk = after
    times = [
        Event.objects.filter(Q(xid__gte=xid) & (Q(xid__gt=xid) | Q(id__gt=pk)))
        .order_by("xid", "id")
        .values_list("created_at", flat=True)
        .first(),
        Delivery.objects.filter(status="pending")
        .order_by("event__created_at")
        .values_list("event__created_at", flat=True)
        .first(),
    ]
    return min((t for t in times if t is not None), default=None)


def _served(events: QuerySet[Event]) -> QuerySet[Event]:
    if connection.vendor != "postgresql":
        return events
    return events.filter(xid__lt=RawSQL(_SNAPSHOT_XMIN, []))


def webhook_list(*, after: tuple[datetime, str] | None, limit: int) -> list[WebhookEndpoint]:
    """Newest first; `after` is the (created_at, webhook_id) of the previous page's last."""
    endpoints = WebhookEndpoint.objects.order_by("-created_at", "-webhook_id")
    if after is not None:
        created_at, webhook_id = after
        endpoints = endpoints.filter(
            Q(created_at__lt=created_at) | Q(created_at=created_at, webhook_id__lt=webhook_id)
        )
    return list(endpoints[:limit])


def webhook_get(*, webhook_id: str) -> WebhookEndpoint:
    try:
        return WebhookEndpoint.objects.get(webhook_id=webhook_id)
    except WebhookEndpoint.DoesNotExist as exc:
        raise WebhookNotFound(webhook_id) from exc


def delivery_list(
    *, webhook_id: str, after: tuple[datetime, str] | None, limit: int
) -> list[Delivery]:
    """The endpoint's deliveries, newest first (raises WebhookNotFound)."""
    webhook_get(webhook_id=webhook_id)
    deliveries = _with_event(Delivery.objects.filter(endpoint_id=webhook_id)).order_by(
        "-created_at", "-delivery_id"
    )
    if after is not None:
        created_at, delivery_id = after
        deliveries = deliveries.filter(
            Q(created_at__lt=created_at) | Q(created_at=created_at, delivery_id__lt=delivery_id)
        )
    return list(deliveries[:limit])


def delivery_get(*, webhook_id: str, delivery_id: str) -> Delivery:
    try:
        return _with_event(Delivery.objects.all()).get(
            endpoint_id=webhook_id, delivery_id=delivery_id
        )
    except Delivery.DoesNotExist as exc:
        raise DeliveryNotFound(delivery_id) from exc


def _with_event(deliveries: QuerySet[Delivery]) -> QuerySet[Delivery]:
    # The event's id and type, not its data.
    return deliveries.select_related("event").defer("event__data")
