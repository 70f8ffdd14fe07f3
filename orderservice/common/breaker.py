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

    def record_failure(self, *, decisive: bool = False) -> bool:
        """The resource did not answer. Returns True when this failure opened the breaker.

        `decisive`: open at once, whatever the count (a failure that took a whole timeout).
        """
        with self._lock:
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
