"""The circuit breaker's states: closed, open for a cool-down, one probe, closed or open again."""

import pytest

from orderservice.common import clock
from orderservice.common.breaker import CircuitBreaker, CircuitOpen


@pytest.fixture
def now(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The breaker's monotonic clock, as a one-item list the test moves."""
    value = [1000.0]
    monkeypatch.setattr(clock, "monotonic", lambda: value[0])
    return value


def breaker() -> CircuitBreaker:
    return CircuitBreaker(failure_threshold=3, cooldown=2.0, probe_timeout=5.0)


def wait(b: CircuitBreaker) -> float:
    refusal = b.refusal()
    assert refusal is not None
    return refusal.wait


def test_it_opens_after_the_threshold_of_failures_in_a_row(now):
    # given
    b = breaker()

    # when
    opened = [b.record_failure() for _ in range(3)]

    # then
    assert opened == [False, False, True]
    refusal = b.refusal()
    assert isinstance(refusal, CircuitOpen)
    assert refusal.wait == pytest.approx(2.0)


def test_a_success_resets_the_count(now):
    # given
    b = breaker()
    b.record_failure()
    b.record_failure()

    # when
    b.record_success()
    b.record_failure()
    b.record_failure()

    # then
    assert b.is_closed
    assert b.refusal() is None


def test_a_decisive_failure_opens_it_at_once(now):
    # given
    breaker_ = breaker()

    # when
    opened = breaker_.record_failure(decisive=True)

    # then
    assert opened
    assert breaker_.refusal() is not None


def test_one_probe_after_the_cool_down_and_calls_refused_meanwhile(now):
    # given
    b = breaker()
    b.record_failure(decisive=True)

    # when / then
    now[0] += 1.0
    assert not b.claim_probe()  # still cooling down
    assert wait(b) == pytest.approx(1.0)
    now[0] += 1.5
    assert b.claim_probe()
    assert not b.claim_probe()  # one probe at a time
    assert b.refusal() is not None  # calls wait for the probe's verdict


def test_a_successful_probe_closes_it(now):
    # given
    b = breaker()
    b.record_failure(decisive=True)
    now[0] += 2.0
    assert b.claim_probe()

    # when
    closed = b.record_success()

    # then
    assert closed
    assert b.refusal() is None
    assert not b.claim_probe()


def test_a_failed_probe_opens_it_for_another_cool_down(now):
    # given
    b = breaker()
    b.record_failure(decisive=True)
    now[0] += 2.0
    assert b.claim_probe()

    # when
    reopened = b.record_failure()

    # then
    assert not reopened  # it was open already: no second "opened" event
    assert wait(b) == pytest.approx(2.0)
    assert not b.claim_probe()
    now[0] += 2.0
    assert b.claim_probe()


def test_a_probe_that_never_reports_is_forgotten(now):
    # given
    b = breaker()
    b.record_failure(decisive=True)
    now[0] += 2.0
    assert b.claim_probe()

    # when
    now[0] += 5.0

    # then
    assert b.claim_probe()
