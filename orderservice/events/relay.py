"""The worker's writes: hand committed events on to deliveries, claim due deliveries, record
what each attempt did. The database is the queue.

- Fan-out: one worker at a time (the relay row, locked with SKIP LOCKED) reads the feed past its
  position, creates one delivery per (event, matching enabled endpoint) and moves the position,
  in one transaction: each event is handed on exactly once, and the order path writes only its
  event row (no endpoint lookups on the hot path). An endpoint gets the events written since it
  was created.
- Claim: due deliveries are locked with SKIP LOCKED and given a lease (`lease`, `locked_until`),
  then the transaction commits; the attempt is made outside any transaction. Two workers never
  hold the same lease, and a lease outlives the longest attempt (WEBHOOK_LEASE_SECONDS >
  WEBHOOK_TIMEOUT_SECONDS), so no attempt is sent twice at once. A worker killed mid-attempt
  leaves a lease that expires: the delivery is claimed and sent again (at least once).
- Record: the outcome is written only under the lease it was claimed with.
"""

import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Q

from orderservice.common import alerts, clock, metrics
from orderservice.common.db import in_transaction
from orderservice.events import metrics as event_metrics
from orderservice.events.event_types import matches
from orderservice.events.keys import secret_decrypt
from orderservice.events.models import (
    Delivery,
    DeliveryStatus,
    Event,
    RelayPosition,
    WebhookEndpoint,
)
from orderservice.events.outbox import json_time
from orderservice.events.selectors import Position, event_feed

logger = logging.getLogger(__name__)

RELAY = "webhooks"
NOTIFY_CHANNEL = "orderservice_events"
# SPEC §12: after a failed attempt, the next one comes after these delays; then failed.
SCHEDULE = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
FAN_OUT_BATCH = 500


@dataclass(frozen=True)
class Claim:
    """A delivery claimed for one attempt, with what the attempt needs."""

    delivery_id: str
    lease: str
    webhook_id: str
    url: str
    secret: str = field(repr=False)
    event: Event = field(repr=False)


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    duration_ms: int
    error: str | None
    attempted_at: datetime

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300 and not self.error


def retry_delay(step: int) -> timedelta:
    return SCHEDULE[step] * settings.WEBHOOK_SCHEDULE_SCALE


@in_transaction
def events_fan_out(*, limit: int = FAN_OUT_BATCH) -> int:
    """Hand the next committed events on to deliveries; how many events were handed on (0 when
    there were none, or another worker is at it)."""
    position = _relay_locked()
    if position is None:
        return 0
    events = event_feed(after=(position.xid, position.event_pk), event_filter=None, limit=limit)
    if not events:
        return 0
    now = clock.now()
    endpoints = list(WebhookEndpoint.objects.filter(enabled=True).only("events", "created_at"))
    Delivery.objects.bulk_create(
        [
            Delivery(endpoint=endpoint, event=event, next_attempt_at=now, created_at=now)
            for event in events
            for endpoint in endpoints
            if endpoint.created_at <= event.created_at and matches(endpoint.events, event.type)
        ],
        ignore_conflicts=True,  # the relay lock already makes it once; this is the backstop
    )
    position.xid, position.event_pk, position.updated_at = events[-1].xid, events[-1].pk, now
    position.save()
    return len(events)


def relay_position() -> Position:
    position = RelayPosition.objects.filter(name=RELAY).first()
    return (position.xid, position.event_pk) if position else (0, 0)


def _relay_locked() -> RelayPosition | None:
    rows = RelayPosition.objects.select_for_update(skip_locked=True).filter(name=RELAY)
    position = rows.first()
    if position is None:
        RelayPosition.objects.bulk_create([RelayPosition(name=RELAY)], ignore_conflicts=True)
        position = rows.first()
    return position


@in_transaction
def deliveries_claim(*, limit: int) -> list[Claim]:
    """Claim up to `limit` due deliveries of enabled endpoints for one attempt each."""
    now = clock.now()
    due = list(
        Delivery.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("endpoint", "event")
        .filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now, endpoint__enabled=True)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lte=now))
        .order_by("next_attempt_at")[:limit]
    )
    if not due:
        return []
    lease = secrets.token_hex(16)
    locked_until = now + timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)
    Delivery.objects.filter(pk__in=[d.pk for d in due]).update(
        lease=lease, locked_until=locked_until
    )
    return [
        Claim(
            delivery_id=d.pk,
            lease=lease,
            webhook_id=d.endpoint.pk,
            url=d.endpoint.url,
            secret=secret_decrypt(d.endpoint.secret_encrypted),
            event=d.event,
        )
        for d in due
    ]


@in_transaction
def delivery_record(*, claim: Claim, outcome: Outcome) -> str:
    """Record the attempt; its outcome for the metrics: delivered, retry, failed, or lost (the
    lease had expired and another worker took the delivery over: nothing is written)."""
    delivery = (
        Delivery.objects.select_for_update().filter(pk=claim.delivery_id, lease=claim.lease).first()
    )
    if delivery is None:
        logger.warning("delivery %s: the claim expired before its outcome", claim.delivery_id)
        return "lost"
    now = clock.now()
    delivery.attempts = [*delivery.attempts, _attempt(outcome)]
    delivery.lease, delivery.locked_until = "", None
    if outcome.delivered:
        delivery.status, delivery.next_attempt_at = DeliveryStatus.DELIVERED, None
        WebhookEndpoint.objects.filter(pk=claim.webhook_id, failing_since__isnull=False).update(
            failing_since=None
        )
        latency = (now - claim.event.created_at).total_seconds()
        metrics.on_commit(lambda: event_metrics.WEBHOOK_DELIVERY_SECONDS.observe(latency))
        result = "delivered"
    elif delivery.schedule_step < len(SCHEDULE):
        delivery.next_attempt_at = now + retry_delay(delivery.schedule_step)
        delivery.schedule_step += 1
        result = "retry"
    else:
        delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
        result = "failed"
    delivery.save()
    if not outcome.delivered:
        _endpoint_failed(claim.webhook_id, now)
    metrics.on_commit(lambda: event_metrics.WEBHOOK_DELIVERIES.labels(outcome=result).inc())
    return result


def _attempt(outcome: Outcome) -> dict[str, object]:
    return {
        "attempted_at": json_time(outcome.attempted_at),
        "status_code": outcome.status_code,
        "duration_ms": outcome.duration_ms,
        "error": outcome.error,
    }


def _endpoint_failed(webhook_id: str, now: datetime) -> None:
    """Note the failure; disable the endpoint (and alert) once every delivery has failed for
    WEBHOOK_DISABLE_AFTER_SECONDS."""
    # NO KEY: the fan-out's inserts of deliveries (which take KEY SHARE on it) need not wait.
    endpoint = WebhookEndpoint.objects.select_for_update(no_key=True).get(pk=webhook_id)
    if endpoint.failing_since is None:
        endpoint.failing_since = now
        endpoint.save(update_fields=["failing_since"])
        return
    failing_for = (now - endpoint.failing_since).total_seconds()
    if not endpoint.enabled or failing_for < settings.WEBHOOK_DISABLE_AFTER_SECONDS:
        return
    endpoint.enabled, endpoint.updated_at = False, now
    endpoint.save(update_fields=["enabled", "updated_at"])
    url, hours = endpoint.url, failing_for / 3600

    def alert() -> None:
        event_metrics.WEBHOOK_ENDPOINTS_DISABLED.inc()
        alerts.webhook_disabled(webhook_id, url, f"every delivery failed for {hours:.1f} h")

    metrics.on_commit(alert)


def notify_worker() -> None:
    """Wake the workers at commit (PostgreSQL); they poll anyway."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, '')", [NOTIFY_CHANNEL])


def events_waiting() -> bool:
    """Whether events past the relay's position exist that the feed does not serve yet (an
    older transaction still runs): worth looking again soon, no NOTIFY will say when."""
    xid, pk = relay_position()
    return Event.objects.filter(Q(xid__gte=xid) & (Q(xid__gt=xid) | Q(id__gt=pk))).exists()


def next_due() -> datetime | None:
    """When the next unclaimed pending delivery of an enabled endpoint is due (None: none)."""
    now = clock.now()
    return (
        Delivery.objects.filter(status=DeliveryStatus.PENDING, endpoint__enabled=True)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lte=now))
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
