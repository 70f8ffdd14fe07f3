"""Alerts to admins: the database stops answering (and answers again), a webhook gets disabled.

An alert is a CRITICAL record on the `orderservice.alerts` logger, plus `mail_admins` when
ADMINS is set and a JSON POST to ALERT_WEBHOOK_URL when that is set. Mail and webhook are sent by
a background thread with timeouts, never on the request path. For the database, each process
raises at most one alert per ALERT_INTERVAL_SECONDS, and stays quiet while the outage it reported
lasts; the first success after an alert sends one recovery notice (WARNING record, mail,
webhook).
"""

import json
import logging
import os
import queue
import socket
import threading
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime

from django.conf import settings
from django.core.mail import mail_admins

from orderservice.common import clock, metrics

logger = logging.getLogger("orderservice.alerts")
_delivery_logger = logging.getLogger("orderservice.alerts.delivery")

DATABASE_UNAVAILABLE = "database_unavailable"
DATABASE_RECOVERED = "database_recovered"
WEBHOOK_DISABLED = "webhook_disabled"

_state_lock = threading.Lock()
_last_alert_at: float | None = None  # clock.monotonic() of this process's last alert
_outstanding = False  # an alert was sent and no recovery notice yet

_QUEUE_SIZE = 100
_outbox: "queue.Queue[Callable[[], None]]" = queue.Queue(_QUEUE_SIZE)
_sender: threading.Thread | None = None
_sender_pid: int | None = None


def database_unavailable(reason: str) -> None:
    """Alert admins that the database does not answer, unless this process already has.

    Quiet while an earlier alert is outstanding (the same outage) or within ALERT_INTERVAL_SECONDS
    of the last one (a flapping database). Cheap enough to call on every failed request.
    """
    global _last_alert_at, _outstanding
    with _state_lock:
        now = clock.monotonic()
        interval = settings.ALERT_INTERVAL_SECONDS
        recent = _last_alert_at is not None and now - _last_alert_at < interval
        if _outstanding or recent:
            return
        _last_alert_at = now
        _outstanding = True
    message = f"The database does not answer; requests get 503. Cause: {reason}"
    logger.critical("ALERT %s: %s", DATABASE_UNAVAILABLE, message)
    _notify(DATABASE_UNAVAILABLE, "[orderservice] ALERT: database unavailable", message)


def database_recovered() -> None:
    """Send the recovery notice if this process has an alert outstanding; otherwise nothing."""
    global _outstanding
    if not _outstanding:  # the common case, read without the lock
        return
    with _state_lock:
        if not _outstanding:
            return
        _outstanding = False
    message = "The database answers again; requests are served."
    logger.warning("RECOVERED %s: %s", DATABASE_RECOVERED, message)
    _notify(DATABASE_RECOVERED, "[orderservice] RECOVERED: database available", message)


def webhook_disabled(webhook_id: str, url: str, reason: str) -> None:
    """Alert admins that a webhook endpoint was disabled (SPEC §12); one alert per endpoint."""
    message = (
        f"Webhook {webhook_id} ({url}) was disabled: {reason}. Fix the receiver, then enable it "
        "again (PATCH /webhooks/{id} with enabled: true, or the admin)."
    )
    logger.critical("ALERT %s: %s", WEBHOOK_DISABLED, message)
    _notify(WEBHOOK_DISABLED, "[orderservice] ALERT: webhook disabled", message)


def reset() -> None:
    """Forget the alert history of this process (tests)."""
    global _last_alert_at, _outstanding
    with _state_lock:
        _last_alert_at = None
        _outstanding = False


def wait_delivered(timeout: float = 5.0) -> bool:
    """Block until every queued mail and webhook call is done (tests); False on timeout."""
    deadline = time.monotonic() + timeout
    while _outbox.unfinished_tasks:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _notify(kind: str, subject: str, message: str) -> None:
    metrics.ORDERS_ALERTS.labels(kind=kind).inc()
    if settings.ADMINS:
        _enqueue(lambda: mail_admins(subject, message, fail_silently=False))
    url = settings.ALERT_WEBHOOK_URL
    if url:
        payload = {
            "event": kind,
            "message": message,
            "service": "orderservice",
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "time": datetime.now(UTC).isoformat(),
        }
        _enqueue(lambda: _post_json(url, payload))


def _post_json(url: str, payload: dict[str, object]) -> None:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=settings.ALERT_WEBHOOK_TIMEOUT_SECONDS):
        pass


def _enqueue(send: Callable[[], None]) -> None:
    _ensure_sender()
    try:
        _outbox.put_nowait(send)
    except queue.Full:
        _delivery_logger.error("alert outbox full: an alert was dropped")


def _ensure_sender() -> None:
    # One daemon thread per process, started on first use: a worker forked from a master
    # that had one does not inherit the thread, hence the pid check.
    global _sender, _sender_pid
    with _state_lock:
        if _sender is not None and _sender_pid == os.getpid() and _sender.is_alive():
            return
        _sender = threading.Thread(target=_deliver_forever, name="alerts", daemon=True)
        _sender_pid = os.getpid()
        _sender.start()


def _deliver_forever() -> None:
    while True:
        send = _outbox.get()
        try:
            send()
        except Exception:
            # A failed delivery must not kill the sender; the CRITICAL record is already logged.
            _delivery_logger.exception("alert delivery failed")
        finally:
            _outbox.task_done()
