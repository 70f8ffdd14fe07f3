"""The webhook worker (`manage.py run_webhooks`): hand events on, claim, send, record; until told
to stop.

One loop (the calling thread) hands committed events on to deliveries and claims due ones, at
most WEBHOOK_CONCURRENCY in flight; sender threads make the attempts (outside any transaction)
and record them. It sleeps until the next delivery is due, a sender is free, or, on PostgreSQL,
a NOTIFY arrives (a listener thread on its own connection: `LISTEN orderservice_events`); at the
latest after WEBHOOK_POLL_SECONDS, or 50 ms while written events wait for an older transaction to
end (the feed serves them only then, and no NOTIFY says when). `stop()` (SIGTERM) claims
nothing more and lets the attempts in flight finish. Several workers may run: see relay.py for
why they never send the same attempt at once.
"""

import logging
import queue
import threading
from collections.abc import Callable

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, InterfaceError, connection, connections

from orderservice.common import clock
from orderservice.common.exceptions import DatabaseUnavailable
from orderservice.events import delivery, relay, selectors
from orderservice.events import metrics as event_metrics

logger = logging.getLogger(__name__)

MIN_WAIT_SECONDS = 0.005
# Events written but held back by an older running transaction: looked at again this soon.
HELD_BACK_WAIT_SECONDS = 0.05
GAUGE_EVERY_SECONDS = 5.0
_DB_FAILURES = (DatabaseError, InterfaceError, DatabaseUnavailable)


class Worker:
    """`inline=True`: attempts run in the loop's own thread, one after another (tests)."""

    def __init__(self, *, concurrency: int | None = None, inline: bool = False) -> None:
        self.concurrency = concurrency or settings.WEBHOOK_CONCURRENCY
        self.inline = inline
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._in_flight = 0
        self._claims: queue.Queue[relay.Claim | None] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._gauge_at = 0.0

    def stop(self) -> None:
        """Claim nothing more; `run` returns once the attempts in flight are recorded."""
        self._stopping.set()
        self._wake.set()

    def run(
        self, *, until: Callable[[], bool] | None = None, max_seconds: float | None = None
    ) -> None:
        """Work until `stop()`, `until()` is true, or `max_seconds` have passed."""
        deadline = None if max_seconds is None else clock.monotonic() + max_seconds
        self._start_threads()
        try:
            while not self._stopping.is_set():
                if until is not None and until():
                    break
                if deadline is not None and clock.monotonic() >= deadline:
                    break
                self._wake.clear()
                if not self._step_safely():
                    self._wait(deadline)
        finally:
            self._stopping.set()
            for _ in self._threads:
                self._claims.put(None)
            for thread in self._threads:
                thread.join()

    def step(self) -> bool:
        """One round: hand events on, claim what is due; True when more may be waiting now."""
        handed = relay.events_fan_out()
        free = self._free()
        claims = relay.deliveries_claim(limit=free) if free else []
        for claim in claims:
            if self.inline:
                self._send(claim)
            else:
                with self._lock:
                    self._in_flight += 1
                self._claims.put(claim)
        self._observe()
        return handed == relay.FAN_OUT_BATCH or (free > 0 and len(claims) == free)

    def _step_safely(self) -> bool:
        try:
            return self.step()
        except _DB_FAILURES as exc:
            logger.warning("webhook worker: database unavailable (%s); trying again", exc)
            connection.close()
            return False

    def _free(self) -> int:
        if self.inline:
            return self.concurrency
        with self._lock:
            return self.concurrency - self._in_flight

    def _wait(self, deadline: float | None) -> None:
        timeout = settings.WEBHOOK_POLL_SECONDS
        try:
            if relay.events_waiting():
                timeout = HELD_BACK_WAIT_SECONDS
            due = relay.next_due() if self._free() else None
        except _DB_FAILURES:
            due = None
        if due is not None:
            timeout = min(timeout, (due - clock.now()).total_seconds())
        if deadline is not None:
            timeout = min(timeout, deadline - clock.monotonic())
        self._wake.wait(max(timeout, MIN_WAIT_SECONDS))

    def _start_threads(self) -> None:
        if not self.inline:
            self._threads = [
                threading.Thread(target=self._sender, name=f"webhook-sender-{n}", daemon=True)
                for n in range(self.concurrency)
            ]
        if connection.vendor == "postgresql":
            self._threads.append(
                threading.Thread(target=self._listen, name="webhook-listener", daemon=True)
            )
        for thread in self._threads:
            thread.start()

    def _sender(self) -> None:
        try:
            while (claim := self._claims.get()) is not None:
                try:
                    self._send(claim)
                finally:
                    with self._lock:
                        self._in_flight -= 1
                    self._wake.set()
        finally:
            connection.close()

    def _send(self, claim: relay.Claim) -> None:
        try:
            outcome = delivery.attempt(claim)
        except Exception as exc:  # a bug, not the receiver: still an attempt, retried as one
            logger.exception("webhook delivery %s: the attempt failed", claim.delivery_id)
            outcome = relay.Outcome(
                status_code=None,
                duration_ms=0,
                error=f"internal error: {exc}",
                attempted_at=clock.now(),
            )
        try:
            relay.delivery_record(claim=claim, outcome=outcome)
        except Exception:
            # The claim expires and another attempt is made: at least once.
            logger.exception("webhook delivery %s: the outcome was not recorded", claim.delivery_id)
            connection.close()

    def _listen(self) -> None:
        """Set the wake-up on each NOTIFY; reconnects while the worker runs."""
        listener = connections.create_connection(DEFAULT_DB_ALIAS)
        try:
            while not self._stopping.is_set():
                try:
                    listener.ensure_connection()
                    raw = listener.connection
                    raw.execute(f"LISTEN {relay.NOTIFY_CHANNEL}")
                    while not self._stopping.is_set():
                        for _ in raw.notifies(timeout=1.0, stop_after=1):
                            self._wake.set()
                except Exception as exc:
                    logger.warning("webhook worker: LISTEN failed (%s); polling meanwhile", exc)
                    listener.close()
                    self._stopping.wait(settings.WEBHOOK_POLL_SECONDS)
        finally:
            listener.close()

    def _observe(self) -> None:
        now = clock.monotonic()
        if now - self._gauge_at < GAUGE_EVERY_SECONDS:
            return
        self._gauge_at = now
        oldest = selectors.oldest_unserved_or_pending(after=relay.relay_position())
        age = (clock.now() - oldest).total_seconds() if oldest else 0.0
        event_metrics.WEBHOOK_OLDEST_UNDELIVERED_SECONDS.set(max(age, 0.0))
