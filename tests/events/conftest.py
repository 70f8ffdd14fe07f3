"""Fixtures of the events tests: receivers, webhook settings for local receivers, events."""

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings

from orderservice.common.db import in_transaction
from orderservice.events.models import Delivery
from orderservice.events.outbox import event_record
from orderservice.events.services import webhook_create
from orderservice.events.worker import Worker
from tests.events.receiver import Answer, Receiver, running

# Local receivers (http, 127.0.0.1), a quick timeout, the schedule shrunk a thousandfold.
LOCAL = {
    "WEBHOOK_ALLOW_HTTP": True,
    "WEBHOOK_ALLOW_PRIVATE": True,
    "WEBHOOK_TIMEOUT_SECONDS": 1.0,
    "WEBHOOK_SCHEDULE_SCALE": 0.001,
    "WEBHOOK_POLL_SECONDS": 0.05,
    "WEBHOOK_LEASE_SECONDS": 5.0,
}


@pytest.fixture
def local_webhooks() -> Iterator[None]:
    with override_settings(**LOCAL):
        yield


@pytest.fixture
def receiver_factory() -> Iterator[Callable[..., Receiver]]:
    """start(answer=None) -> a running Receiver; all are stopped at teardown."""
    stack: list[Any] = []

    def start(answer: Answer | None = None) -> Receiver:
        receiver = Receiver(answer) if answer else Receiver()
        context = running(receiver)
        stack.append(context)
        return context.__enter__()

    yield start
    for context in reversed(stack):
        context.__exit__(None, None, None)


def write_events(count: int, event_type: str = "order.updated") -> None:
    """`count` events in one transaction, data {"n": i}; returns once the feed serves them."""
    _write_events(count, event_type)
    feed_settled()


@in_transaction
def _write_events(count: int, event_type: str) -> None:
    for n in range(count):
        event_record(event_type, {"n": n})


def feed_settled(timeout: float = 60.0) -> None:
    """Wait until the feed serves every event written (PostgreSQL).

    The feed holds events back while any older transaction runs, on any database of the server:
    on a server shared with other test runs, that is often for a moment.
    """
    if connection.vendor != "postgresql":
        return
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
                " > COALESCE((SELECT max(xid) FROM events_event), 0)"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.05)
    raise AssertionError(f"the feed did not catch up within {timeout}s")


def subscribe(url: str, events: list[str] | None = None) -> Any:
    return webhook_create(url=url, events=events or ["order.*"])


def attempts() -> list[list[dict[str, Any]]]:
    """Each delivery's attempts, oldest delivery first."""
    return [d.attempts for d in Delivery.objects.order_by("created_at", "delivery_id")]


def work_until(condition: Callable[[], bool], *, max_seconds: float = 60.0) -> None:
    """Run an inline worker until `condition()` holds (asserted) or time is up."""
    Worker(inline=True).run(until=condition, max_seconds=max_seconds)
    assert condition(), "the worker did not get there in time"
