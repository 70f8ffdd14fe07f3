"""The JSON bodies of events (the feed and the webhooks alike), endpoints and deliveries."""

from typing import Any

import orjson

from orderservice.events.models import Delivery, Event, WebhookEndpoint


def event_body(event: Event) -> dict[str, Any]:
    # `data` is stored as JSON text: embedded as it is, not parsed and written again.
    return {
        "event_id": event.event_id,
        "type": event.type,
        "created_at": event.created_at,
        "data": orjson.Fragment(event.data),
    }


def event_bytes(event: Event) -> bytes:
    """A webhook's body: the event, as the feed shows it."""
    return orjson.dumps(event_body(event), option=orjson.OPT_UTC_Z)


def webhook_body(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "webhook_id": endpoint.webhook_id,
        "url": endpoint.url,
        "events": endpoint.events,
        "description": endpoint.description,
        "enabled": endpoint.enabled,
        "created_at": endpoint.created_at,
    }


def webhook_created_body(endpoint: WebhookEndpoint, secret: str) -> dict[str, Any]:
    """The one answer that shows the secret."""
    return {**webhook_body(endpoint), "secret": secret}


def delivery_body(delivery: Delivery) -> dict[str, Any]:
    return {
        "delivery_id": delivery.delivery_id,
        "event_id": delivery.event.event_id,
        "event_type": delivery.event.type,
        "status": delivery.status,
        "next_attempt_at": delivery.next_attempt_at,
        "attempts": [
            {
                "attempted_at": attempt["attempted_at"],
                "status_code": attempt["status_code"],
                "duration_ms": attempt["duration_ms"],
                "error": attempt["error"],
            }
            for attempt in delivery.attempts
        ],
    }
