"""A circuit breaker: after repeated failures, calls fail fast for a cool-down, then one probe.

Closed: every call goes through; `failure_threshold` failures in a row open it, and so does one
decisive failure (one that took so long that every further call would cost as much). Open:
calls are refused (CircuitOpen). Once the cool-down is over, `claim_probe` hands out one probe,
and calls are still refused until the probe reports: success closes the breaker, failure opens
it for another cool-down. The caller decides how to probe (the database layer does it in a
background thread, so no request waits on a dead server). A probe that never reports is
forgotten after `probe_timeout`.

State is per process; with several worker processes each one learns on its own, which costs at
most `failure_threshold` failed calls per process.

Several threads in a process share the breaker, and each holds a connection of its own: when the
resource fails, every one of those connections may have died with it, and each thread finds out
on its own, later, maybe after the resource is back. Those late failures say nothing about the
resource now; counted together they would open the breaker on a resource that answers. So the
breaker keeps a `generation`, bumped by every failure it counts: a caller stamps each connection
with the generation it was opened in, replaces a connection from an older generation before using
it, and reports the stamp with a failure (`record_failure(opened_in=...)`): a failure on a
connection older than the current generation is not counted. A failure to connect, or on a
connection opened since, is news and counts.
"""

import threading

from orderservice.common import clock


class CircuitOpen(Exception):
    """The breaker refuses calls for now; retry in `wait` seconds."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"circuit open, retry in {wait:.2f}s")
        self.wait = wait


class CircuitBreaker:
    def __init__(self, *, failure_threshold: int, cooldown: float, probe_timeout: float) -> None:
        self.failure_threshold = max(1, failure_threshold)
        self.cooldown = cooldown
        self.probe_timeout = probe_timeout
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None  # None while closed
        self._probe_started_at: float | None = None
        # Bumped by every failure counted: connections opened before may have died with it. Read
        # without the lock (an int), by every unit of work.
        self.generation = 0

    @property
    def is_closed(self) -> bool:
        return self._opened_at is None

    def refusal(self) -> CircuitOpen | None:
        """None while closed; otherwise the CircuitOpen to raise (with how long to wait)."""
        with self._lock:
            if self._opened_at is None:
                return None
            cooling = self._opened_at + self.cooldown - clock.monotonic()
            return CircuitOpen(cooling if cooling > 0 else self.cooldown)

    def claim_probe(self) -> bool:
        """True (once per cool-down) when the breaker is open, cooled down and unprobed: the
        caller must then probe and report with record_success or record_failure."""
        with self._lock:
            now = clock.monotonic()
            if self._opened_at is None or now < self._opened_at + self.cooldown:
                return False
            started = self._probe_started_at
            if started is not None and now < started + self.probe_timeout:
                return False
            self._probe_started_at = now
            return True

    def record_success(self) -> bool:
        """The resource answered. Returns True when this closed an open breaker."""
        with self._lock:
            was_open = self._opened_at is not None
            self._failures = 0
            self._opened_at = None
            self._probe_started_at = None
            return was_open

    def record_failure(self, *, decisive: bool = False, opened_in: int | None = None) -> bool:
        """The resource did not answer. Returns True when this failure opened the breaker.

        `decisive`: open at once, whatever the count (a failure that took a whole timeout).
        `opened_in`: the generation of the connection that failed (None: no connection, a failure
        to connect). Older than the current one, the failure is not counted: that connection may
        have died with a failure counted already, and says nothing about the resource now.
        """
        with self._lock:
            if opened_in is not None and opened_in < self.generation:
                return False
            self.generation += 1
            now = clock.monotonic()
            if self._opened_at is not None:
                # The probe failed (or a call made before the breaker opened): cool down again.
                self._opened_at = now
                self._probe_started_at = None
                return False
            self._failures += 1
            if self._failures < self.failure_threshold and not decisive:
                return False
            self._opened_at = now
            return True
