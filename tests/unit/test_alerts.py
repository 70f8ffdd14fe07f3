"""Alerts to admins (SPEC §8): CRITICAL record, mail, webhook; once per interval; one recovery."""

import logging
import socket
import time
from collections.abc import Iterator

import pytest
from django.core import mail

from orderservice.common import alerts, clock
from tests.faults.webhook import WebhookReceiver, running_webhook


@pytest.fixture(autouse=True)
def fresh_alerts(settings) -> Iterator[None]:
    settings.ADMINS = []
    settings.ALERT_WEBHOOK_URL = ""
    settings.ALERT_INTERVAL_SECONDS = 300.0
    alerts.reset()
    yield
    alerts.wait_delivered()
    alerts.reset()


@pytest.fixture
def now(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    value = [5000.0]
    monkeypatch.setattr(clock, "monotonic", lambda: value[0])
    return value


@pytest.fixture
def webhook(settings) -> Iterator[WebhookReceiver]:
    with running_webhook() as receiver:
        settings.ALERT_WEBHOOK_URL = receiver.url
        yield receiver


def records(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "orderservice.alerts"]


def test_one_critical_record_per_outage_however_many_failures(caplog, now):
    # when
    with caplog.at_level(logging.INFO, logger="orderservice.alerts"):
        for _ in range(50):
            alerts.database_unavailable("connection refused")
            now[0] += 1

    # then
    logged = records(caplog)
    assert len(logged) == 1
    level, message = logged[0]
    assert level == logging.CRITICAL
    assert "connection refused" in message


def test_one_recovery_notice_and_only_after_an_alert(caplog, now):
    # when
    with caplog.at_level(logging.INFO, logger="orderservice.alerts"):
        alerts.database_recovered()  # nothing was wrong: no notice
        alerts.database_unavailable("down")
        alerts.database_recovered()
        alerts.database_recovered()

    # then
    assert [level for level, _ in records(caplog)] == [logging.CRITICAL, logging.WARNING]
    assert "answers again" in records(caplog)[1][1]


def test_a_flapping_database_alerts_once_per_interval(caplog, now):
    # when
    with caplog.at_level(logging.INFO, logger="orderservice.alerts"):
        alerts.database_unavailable("down")
        alerts.database_recovered()
        now[0] += 60
        alerts.database_unavailable("down again")  # within the interval: quiet
        alerts.database_recovered()  # ... and so no recovery notice either
        now[0] += 300
        alerts.database_unavailable("down a third time")

    # then
    levels = [level for level, _ in records(caplog)]
    assert levels == [logging.CRITICAL, logging.WARNING, logging.CRITICAL]


def test_the_webhook_gets_the_alert_and_the_recovery(webhook):
    # when
    alerts.database_unavailable("statement timeout")
    alerts.database_recovered()
    assert alerts.wait_delivered(timeout=10)

    # then
    payloads = [r.payload for r in webhook.received()]
    assert [p["event"] for p in payloads] == ["database_unavailable", "database_recovered"]
    assert "statement timeout" in payloads[0]["message"]
    assert {p["service"] for p in payloads} == {"orderservice"}
    assert all(isinstance(p["pid"], int) for p in payloads)


def test_admins_get_mail(settings):
    # given
    settings.ADMINS = [("Ops", "ops@example.com")]

    # when
    alerts.database_unavailable("connection refused")
    alerts.database_recovered()
    assert alerts.wait_delivered(timeout=10)

    # then
    subjects = [message.subject for message in mail.outbox]
    assert len(subjects) == 2
    assert "ALERT: database unavailable" in subjects[0]
    assert "RECOVERED" in subjects[1]
    assert mail.outbox[0].to == ["ops@example.com"]


def test_a_webhook_that_never_answers_does_not_hold_up_the_caller(settings, caplog):
    # given: a server that accepts connections and never answers
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    settings.ALERT_WEBHOOK_URL = f"http://127.0.0.1:{silent.getsockname()[1]}/alerts"
    settings.ALERT_WEBHOOK_TIMEOUT_SECONDS = 0.5
    try:
        # when
        started = time.monotonic()
        alerts.database_unavailable("down")
        elapsed = time.monotonic() - started

        # then
        assert elapsed < 0.1
        with caplog.at_level(logging.ERROR, logger="orderservice.alerts.delivery"):
            assert alerts.wait_delivered(timeout=5)  # given up after its own timeout
        assert any("delivery failed" in r.getMessage() for r in caplog.records)
    finally:
        silent.close()
