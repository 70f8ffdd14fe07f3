"""A circuit breaker: after repeated failures, calls fail fast for a cool-down, then one probe.

Closed: every call goes through; `failure_threshold` failures in a row open it. Open: calls are
refused (CircuitOpen) until `cooldown` seconds have passed. Then the first caller is admitted as
the probe while the others are still refused; its success closes the breaker, its failure opens
it for another cool-down. A probe that never reports (its process thread died) is forgotten
after `probe_timeout`, so the breaker cannot stay half-open for ever.

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
        """What `before_call` would raise now, without admitting a probe (for a quick check)."""
        with self._lock:
            return self._refusal(clock.monotonic())

    def before_call(self) -> None:
        """Raise CircuitOpen unless a call may go through now; admits at most one probe."""
        with self._lock:
            now = clock.monotonic()
            refusal = self._refusal(now)
            if refusal is not None:
                raise refusal
            if self._opened_at is not None:
                self._probe_started_at = now  # this caller is the probe

    def record_success(self) -> bool:
        """The resource answered. Returns True when this closed an open breaker."""
        with self._lock:
            was_open = self._opened_at is not None
            self._failures = 0
            self._opened_at = None
            self._probe_started_at = None
            return was_open

    def record_failure(self) -> bool:
        """The resource did not answer. Returns True when this failure opened the breaker."""
        with self._lock:
            now = clock.monotonic()
            if self._opened_at is not None:
                # The probe failed (or a call admitted before the breaker opened): cool down again.
                self._opened_at = now
                self._probe_started_at = None
                return False
            self._failures += 1
            if self._failures < self.failure_threshold:
                return False
            self._opened_at = now
            return True

    def _refusal(self, now: float) -> CircuitOpen | None:
        if self._opened_at is None:
            return None
        cooling = self._opened_at + self.cooldown - now
        if cooling > 0:
            return CircuitOpen(cooling)
        if self._probe_started_at is not None:
            probing = self._probe_started_at + self.probe_timeout - now
            if probing > 0:
                return CircuitOpen(min(probing, self.cooldown))
        return None
