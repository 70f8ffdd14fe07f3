"""Webhook endpoints (create, change, delete), a delivery retried by hand, old events pruned."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from orderservice.common import clock
from orderservice.common.db import in_transaction
from orderservice.events.exceptions import DeliveryNotFound, WebhookNotFound
from orderservice.events.keys import secret_encrypt, secret_reencrypt
from orderservice.events.models import Delivery, DeliveryStatus, Event, WebhookEndpoint
from orderservice.events.relay import SCHEDULE, notify_worker
from orderservice.events.signing import new_secret
from orderservice.events.urlguard import url_check

PRUNE_BATCH = 1000


@dataclass(frozen=True)
class CreatedWebhook:
    endpoint: WebhookEndpoint
    secret: str  # shown once, in the answer to the creation; stored only encrypted


def webhook_create(*, url: str, events: list[str], description: str = "") -> CreatedWebhook:
    """Register an endpoint. Raises WebhookUrlRefused (checked before the transaction: the
    check resolves the host name)."""
    url_check(url)
    secret = new_secret()
    endpoint = _webhook_insert(
        WebhookEndpoint(
            url=url,
            events=_unique(events),
            description=description,
            secret_encrypted=secret_encrypt(secret),
        )
    )
    return CreatedWebhook(endpoint=endpoint, secret=secret)


@in_transaction
def _webhook_insert(endpoint: WebhookEndpoint) -> WebhookEndpoint:
    endpoint.created_at = endpoint.updated_at = clock.now()
    endpoint.save(force_insert=True)
    return endpoint


def webhook_update(*, webhook_id: str, **changes: Any) -> WebhookEndpoint:
    """Change `url`, `events` and/or `enabled`. Enabling starts the failure count afresh.
    Raises WebhookNotFound, WebhookUrlRefused."""
    if "url" in changes:
        url_check(changes["url"])
    return _webhook_change(webhook_id, changes)


@in_transaction
def _webhook_change(webhook_id: str, changes: dict[str, Any]) -> WebhookEndpoint:
    try:
        endpoint = WebhookEndpoint.objects.select_for_update(no_key=True).get(pk=webhook_id)
    except WebhookEndpoint.DoesNotExist as exc:
        raise WebhookNotFound(webhook_id) from exc
    if "url" in changes:
        endpoint.url = changes["url"]
    if "events" in changes:
        endpoint.events = _unique(changes["events"])
    if "enabled" in changes and changes["enabled"] != endpoint.enabled:
        endpoint.enabled = changes["enabled"]
        endpoint.failing_since = None
        if endpoint.enabled:
            notify_worker()  # its paused deliveries are due again
    endpoint.updated_at = clock.now()
    endpoint.save()
    return endpoint


@in_transaction
def webhook_delete(*, webhook_id: str) -> None:
    """Delete the endpoint and its deliveries. Raises WebhookNotFound."""
    deleted, _ = WebhookEndpoint.objects.filter(pk=webhook_id).delete()
    if not deleted:
        raise WebhookNotFound(webhook_id)


@in_transaction
def delivery_retry(*, webhook_id: str, delivery_id: str) -> Delivery:
    """One more attempt, now, with the same webhook-id. A delivery still pending keeps its
    schedule; a delivered or failed one gets this one attempt (failing again, it is failed).
    An attempt already in flight is not cut short. Raises DeliveryNotFound."""
    try:
        delivery = (
            Delivery.objects.select_for_update(of=("self",))
            .select_related("event")
            .get(endpoint_id=webhook_id, delivery_id=delivery_id)
        )
    except Delivery.DoesNotExist as exc:
        raise DeliveryNotFound(delivery_id) from exc
    if delivery.status != DeliveryStatus.PENDING:
        delivery.status = DeliveryStatus.PENDING
        delivery.schedule_step = len(SCHEDULE)
    delivery.next_attempt_at = clock.now()
    delivery.save(update_fields=["status", "schedule_step", "next_attempt_at"])
    notify_worker()
    return delivery


def events_prune() -> int:
    """Delete events older than EVENT_RETENTION_DAYS (and their deliveries), in batches."""
    cutoff = clock.now() - timedelta(days=settings.EVENT_RETENTION_DAYS)
    deleted = 0
    for _ in range(100_000):  # bounded; each batch is its own transaction
        batch = _events_prune_batch(cutoff)
        deleted += batch
        if batch < PRUNE_BATCH:
            break
    return deleted


@in_transaction
def _events_prune_batch(cutoff: datetime) -> int:
    # Oldest first along the feed's index: the old events are at its start.
    ids = list(
        Event.objects.filter(created_at__lt=cutoff)
        .order_by("xid", "id")
        .values_list("id", flat=True)[:PRUNE_BATCH]
    )
    Delivery.objects.filter(event_id__in=ids).delete()
    deleted, _ = Event.objects.filter(id__in=ids).delete()
    return deleted


@in_transaction
def webhook_secrets_reencrypt() -> int:
    """Encrypt every secret with the first of WEBHOOK_SECRET_KEYS (after a key rotation)."""
    endpoints = list(WebhookEndpoint.objects.select_for_update(no_key=True))
    for endpoint in endpoints:
        endpoint.secret_encrypted = secret_reencrypt(endpoint.secret_encrypted)
    WebhookEndpoint.objects.bulk_update(endpoints, ["secret_encrypted"])
    return len(endpoints)


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))
