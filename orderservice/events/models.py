"""The outbox (events), webhook endpoints, their deliveries, and the relay's place in the feed."""

import secrets
from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.sql.compiler import SQLCompiler

from orderservice.common import clock

WEBHOOK_ID_PATTERN = r"wh_[0-9a-f]{24}"
DELIVERY_ID_PATTERN = r"dlv_[0-9a-f]{24}"


def new_webhook_id() -> str:
    return "wh_" + secrets.token_hex(12)


def new_delivery_id() -> str:
    return "dlv_" + secrets.token_hex(12)


class _DatabaseMade(models.Expression):
    """A column value the database computes, so that every writer (the ORM, or a one-statement
    write that inserts events in a CTE: outbox_sql.py) gets the same one without naming it."""

    allowed_default = True
    postgresql = ""
    other = ""

    def as_sql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> tuple[str, list[Any]]:
        return (self.postgresql if connection.vendor == "postgresql" else self.other), []


class NewEventId(_DatabaseMade):
    """`evt_` and 32 random hex digits: opaque, and carrying no order."""

    output_field = models.CharField()
    postgresql = "('evt_' || replace(gen_random_uuid()::text, '-', ''))"
    other = "('evt_' || lower(hex(randomblob(16))))"


class WritingTransactionId(_DatabaseMade):
    """On PostgreSQL the id of the transaction writing the row (xid8, as a bigint); the feed
    serves a row only once every transaction up to its own has ended (selectors.py). Elsewhere
    0: SQLite has one writer at a time, so the row id alone is commit order."""

    output_field = models.BigIntegerField()
    postgresql = "(pg_current_xact_id()::text::bigint)"
    other = "0"


class Event(models.Model):
    """One committed change, written in the transaction of the change (the outbox).

    Feed position: (xid, id). `data` is the JSON object, as text: written once, served as is.
    """

    event_id = models.CharField(max_length=40, db_default=NewEventId())
    xid = models.BigIntegerField(db_default=WritingTransactionId())
    type = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=clock.now)
    data = models.TextField()

    class Meta:
        ordering = ["xid", "id"]
        # A constraint, not unique=True: no second (LIKE) index to write on every insert.
        constraints = [models.UniqueConstraint(fields=["event_id"], name="event_id_unique")]
        indexes = [models.Index(fields=["xid", "id"], name="event_feed_position")]

    def __str__(self) -> str:
        return f"{self.event_id} {self.type}"


class WebhookEndpoint(models.Model):
    webhook_id = models.CharField(primary_key=True, max_length=32, default=new_webhook_id)
    url = models.CharField(max_length=2000)
    # Event types and `family.*` filters (event_types.EVENT_FILTERS).
    events = models.JSONField(default=list)
    description = models.CharField(max_length=500, blank=True, default="")
    enabled = models.BooleanField(default=True)
    # The signing secret, Fernet-encrypted with WEBHOOK_SECRET_KEYS (keys.py); never in clear.
    secret_encrypted = models.TextField()
    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(default=clock.now)
    # When its deliveries started failing without a success since; None while they succeed.
    failing_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-webhook_id"]
        verbose_name = "webhook endpoint"

    def __str__(self) -> str:
        return f"{self.webhook_id} {self.url}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class Delivery(models.Model):
    """One event for one endpoint: its attempts, and when the next one is due.

    A worker claims a due delivery by writing `lease` and `locked_until` (and committing); it
    sends outside any transaction, then records the outcome only if the lease is still its own.
    A worker that dies leaves a claim that expires: the delivery is sent again (at least once).
    """

    delivery_id = models.CharField(primary_key=True, max_length=32, default=new_delivery_id)
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Retries already scheduled (the index of the next delay in relay.SCHEDULE).
    schedule_step = models.PositiveSmallIntegerField(default=0)
    # [{"attempted_at", "status_code", "duration_ms", "error"}], oldest first.
    attempts = models.JSONField(default=list, blank=True)
    lease = models.CharField(max_length=32, blank=True, default="")
    locked_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["-created_at", "-delivery_id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="one_delivery_per_event"),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="delivery_due",
            ),
            models.Index(
                fields=["endpoint", "-created_at", "-delivery_id"], name="delivery_newest"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.delivery_id} ({self.status})"


class RelayPosition(models.Model):
    """How far the relay has handed the feed on to deliveries: the last event's (xid, id)."""

    name = models.CharField(primary_key=True, max_length=32)
    xid = models.BigIntegerField(default=0)
    event_pk = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=clock.now)

    def __str__(self) -> str:
        return f"{self.name} at ({self.xid}, {self.event_pk})"
