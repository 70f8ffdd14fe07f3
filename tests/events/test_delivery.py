"""Deliveries: the retry schedule (scaled down), timeouts, refused connections, manual retry,
which endpoint gets which event, and an endpoint disabled after failing for long."""

import logging
from collections.abc import Callable
from datetime import datetime

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from orderservice.events.models import Delivery, WebhookEndpoint
from orderservice.events.relay import SCHEDULE, events_fan_out
from tests.events.conftest import attempts, subscribe, work_until, write_events
from tests.events.receiver import Receiver, refused_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("local_webhooks")]

# Timing slack: the worker wakes up at most one poll late, and the machine is shared.
LATE = 1.5


def _gaps(received_starts: list[float]) -> list[float]:
    return [b - a for a, b in zip(received_starts, received_starts[1:], strict=False)]


def _times(delivery_attempts: list[dict]) -> list[float]:
    return [datetime.fromisoformat(a["attempted_at"]).timestamp() for a in delivery_attempts]


def _assert_schedule(gaps: list[float], scale: float) -> None:
    for n, gap in enumerate(gaps):
        delay = SCHEDULE[n].total_seconds() * scale
        assert delay - 0.002 <= gap <= delay + LATE, (n, gap, delay)


def test_a_receiver_failing_3_times_then_succeeding_follows_the_schedule(
    receiver_factory: Callable[..., Receiver],
):
    receiver = receiver_factory(lambda n: (503 if n < 3 else 200, 0.0))
    subscribe(receiver.url)
    write_events(1)

    work_until(lambda: Delivery.objects.filter(status="delivered").exists())

    delivery = Delivery.objects.get()
    assert [a["status_code"] for a in delivery.attempts] == [503, 503, 503, 200]
    assert [a["error"] for a in delivery.attempts] == [None] * 4
    assert delivery.next_attempt_at is None
    _assert_schedule(_gaps([r.started for r in receiver.received]), scale=0.001)
    _assert_schedule(_gaps(_times(delivery.attempts)), scale=0.001)


@override_settings(WEBHOOK_TIMEOUT_SECONDS=0.3)
def test_a_receiver_hanging_past_the_timeout_is_a_failed_attempt(
    receiver_factory: Callable[..., Receiver],
):
    receiver = receiver_factory(lambda n: (200, 3.0))
    subscribe(receiver.url)
    write_events(1)

    work_until(lambda: [len(a) for a in attempts()] == [3], max_seconds=30)

    delivery = Delivery.objects.get()
    assert delivery.status == "pending"
    for attempt in delivery.attempts:
        assert attempt["status_code"] is None
        assert attempt["error"] == "no answer within 0.3 s"
        assert 300 <= attempt["duration_ms"] < 300 + LATE * 1000
    # each gap: the 0.3 s attempt, then the delay
    for n, gap in enumerate(_gaps(_times(delivery.attempts))):
        assert gap >= 0.3 + SCHEDULE[n].total_seconds() * 0.001 - 0.002


@override_settings(WEBHOOK_SCHEDULE_SCALE=0.00005)
def test_a_receiver_refusing_connections_gets_the_whole_schedule_then_failed():
    subscribe(refused_url())
    write_events(1)

    work_until(lambda: Delivery.objects.filter(status="failed").exists(), max_seconds=60)

    delivery = Delivery.objects.get()
    assert len(delivery.attempts) == len(SCHEDULE) + 1 == 8
    assert {a["status_code"] for a in delivery.attempts} == {None}
    assert all(a["error"].startswith("ConnectError") for a in delivery.attempts)
    assert delivery.next_attempt_at is None
    _assert_schedule(_gaps(_times(delivery.attempts)), scale=0.00005)


def test_manual_retry_is_a_new_attempt_with_the_same_webhook_id(
    client_staff: APIClient, receiver_factory: Callable[..., Receiver]
):
    # given: a delivery that failed for good
    answers = {"status": 500}
    receiver = receiver_factory(lambda n: (answers["status"], 0.0))
    webhook = subscribe(receiver.url).endpoint
    write_events(1)
    events_fan_out()
    Delivery.objects.update(schedule_step=len(SCHEDULE))  # its last scheduled attempt next
    work_until(lambda: Delivery.objects.filter(status="failed").exists())
    delivery = Delivery.objects.get()
    path = f"/webhooks/{webhook.webhook_id}/deliveries/{delivery.delivery_id}/retry"

    # when: retried by hand, the receiver fixed
    answers["status"] = 200
    response = client_staff.post(path)

    # then
    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    work_until(lambda: Delivery.objects.filter(status="delivered").exists())
    assert [r.status for r in receiver.received] == [500, 200]
    assert len(set(receiver.ids())) == 1

    # and a retry that fails again is failed at once (one attempt, no new schedule)
    answers["status"] = 500
    assert client_staff.post(path).status_code == 202
    work_until(lambda: Delivery.objects.filter(status="failed").exists())
    assert len(Delivery.objects.get().attempts) == 3


def test_the_deliveries_list(client_staff: APIClient, receiver_factory: Callable[..., Receiver]):
    receiver = receiver_factory(lambda n: (500 if n == 0 else 200, 0.0))
    webhook = subscribe(receiver.url).endpoint
    write_events(2)
    work_until(lambda: Delivery.objects.filter(status="delivered").count() == 2)

    page = client_staff.get(f"/webhooks/{webhook.webhook_id}/deliveries?limit=1").json()
    rest = client_staff.get(page["next"]).json()

    [newest], [oldest] = page["results"], rest["results"]
    assert rest["next"] is None
    assert list(newest) == [
        "delivery_id", "event_id", "event_type", "status", "next_attempt_at", "attempts"
    ]  # fmt: skip
    assert (newest["event_type"], newest["status"], newest["next_attempt_at"]) == (
        "order.updated", "delivered", None
    )  # fmt: skip
    retried = newest if len(newest["attempts"]) == 2 else oldest
    assert [a["status_code"] for a in retried["attempts"]] == [500, 200]
    assert list(retried["attempts"][0]) == ["attempted_at", "status_code", "duration_ms", "error"]
    assert retried["attempts"][0]["attempted_at"].endswith("Z")
    events = client_staff.get("/events").json()["results"]
    assert {newest["event_id"], oldest["event_id"]} == {e["event_id"] for e in events}


def test_each_endpoint_gets_the_events_it_asked_for_since_it_was_created(
    receiver_factory: Callable[..., Receiver],
):
    # given
    write_events(1, "order.updated")  # before any endpoint: nobody gets it
    orders, products, disabled = (receiver_factory() for _ in range(3))
    subscribe(orders.url, ["order.*"])
    subscribe(products.url, ["product.out_of_stock"])
    subscribe(disabled.url, ["order.*"])
    WebhookEndpoint.objects.filter(url=disabled.url).update(enabled=False)

    # when
    write_events(1, "order.cancelled")
    write_events(1, "product.out_of_stock")
    write_events(1, "product.low_stock")
    work_until(lambda: Delivery.objects.filter(status="delivered").count() == 2)

    # then
    assert [r.json()["type"] for r in orders.received] == ["order.cancelled"]
    assert [r.json()["type"] for r in products.received] == ["product.out_of_stock"]
    assert disabled.received == []
    assert Delivery.objects.count() == 2


@override_settings(WEBHOOK_DISABLE_AFTER_SECONDS=0.5)
def test_an_endpoint_failing_for_long_is_disabled_and_admins_alerted(
    receiver_factory: Callable[..., Receiver], caplog: pytest.LogCaptureFixture
):
    receiver = receiver_factory(lambda n: (500, 0.0))
    webhook = subscribe(receiver.url).endpoint
    write_events(1)

    with caplog.at_level(logging.CRITICAL, logger="orderservice.alerts"):
        work_until(lambda: not WebhookEndpoint.objects.get().enabled)

    alerts = [r.getMessage() for r in caplog.records if r.name == "orderservice.alerts"]
    assert len(alerts) == 1
    assert alerts[0].startswith(f"ALERT webhook_disabled: Webhook {webhook.webhook_id}")
    attempts_then = len(Delivery.objects.get().attempts)
    failing_since = WebhookEndpoint.objects.get().failing_since
    assert failing_since is not None
    assert Delivery.objects.get().status == "pending"  # paused, not lost
    # nothing more is sent to a disabled endpoint
    work_until(lambda: True)
    assert len(Delivery.objects.get().attempts) == attempts_then


def test_a_success_clears_the_failure_clock(receiver_factory: Callable[..., Receiver]):
    receiver = receiver_factory(lambda n: (500 if n == 0 else 200, 0.0))
    subscribe(receiver.url)
    write_events(1)

    work_until(lambda: [len(a) for a in attempts()] == [1])
    assert WebhookEndpoint.objects.get().failing_since is not None
    work_until(lambda: Delivery.objects.filter(status="delivered").exists())
    assert WebhookEndpoint.objects.get().failing_since is None


def test_enabling_again_resumes_paused_deliveries(
    client_staff: APIClient, receiver_factory: Callable[..., Receiver]
):
    receiver = receiver_factory()
    webhook = subscribe(receiver.url).endpoint
    write_events(1)
    events_fan_out()
    WebhookEndpoint.objects.update(enabled=False)
    work_until(lambda: True)
    assert receiver.received == []

    patch = client_staff.patch(f"/webhooks/{webhook.webhook_id}", {"enabled": True}, format="json")

    assert patch.status_code == 200
    work_until(lambda: bool(receiver.delivered_ids()))
    assert Delivery.objects.get().next_attempt_at is None
