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


def test_a_counted_failure_starts_a_new_generation(now):
    # given
    b = breaker()
    before = b.generation

    # when
    b.record_failure(opened_in=before)

    # then: a connection opened before this failure is older now
    assert b.generation > before


def test_failures_on_connections_older_than_a_counted_failure_are_not_counted(now):
    # given: several threads' connections, opened together; one fails, and is counted
    b = breaker()
    opened_in = b.generation
    b.record_failure(opened_in=opened_in)

    # when: each other thread finds its own connection dead, slowly even
    opened = [b.record_failure(opened_in=opened_in, decisive=True) for _ in range(5)]

    # then: they died with the first failure and say nothing more: the breaker stays closed
    assert opened == [False] * 5
    assert b.is_closed
    assert b.refusal() is None


def test_failures_to_connect_and_on_new_connections_are_counted(now):
    # given: a failure counted, then connections opened since
    b = breaker()
    b.record_failure(opened_in=b.generation)

    # when: a failure to connect, then failures on connections opened after the last failure
    first = b.record_failure(opened_in=None)
    second = b.record_failure(opened_in=b.generation)

    # then: news of the database now: the third failure in a row opens it
    assert (first, second) == (False, True)
    assert b.refusal() is not None


def test_the_failures_that_open_it_make_every_older_connection_stale(now):
    # given: connections opened while the breaker was closed
    b = breaker()
    opened_in = b.generation

    # when: it opens, then a probe closes it
    b.record_failure(decisive=True)
    now[0] += 2.0
    assert b.claim_probe()
    b.record_success()

    # then: a failure on a connection from before the outage does not open it again
    assert opened_in < b.generation
    assert not b.record_failure(opened_in=opened_in, decisive=True)
    assert b.is_closed
