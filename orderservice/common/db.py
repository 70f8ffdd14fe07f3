"""One wrapper that runs a unit of work in a transaction and retries transient database failures.

It also holds the rest of the database's availability policy, so that it lives in one place: the
circuit breaker that makes requests fail fast while the database is unreachable, the alerts to
admins, the mapping of a failed read to DatabaseUnavailable, and the readiness ping.
"""

import contextlib
import functools
import logging
import math
import threading
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import psycopg
import tenacity
from django.conf import settings
from django.core.signals import setting_changed
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db import Error as DbError
from django.db.backends.signals import connection_created

from orderservice.common import alerts, clock, metrics
from orderservice.common.breaker import CircuitBreaker, CircuitOpen
from orderservice.common.exceptions import DatabaseUnavailable

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

# SQLSTATEs worth another attempt: serialization_failure, deadlock_detected, lock_not_available
# (lock_timeout), query_canceled (statement_timeout).
_RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03", "57014"}
# The server is going away or not accepting connections: admin_shutdown, crash_shutdown,
# cannot_connect_now. Like class 08 (connection exception), these mean "unreachable".
_UNREACHABLE_SQLSTATES = {"57P01", "57P02", "57P03"}

_FIRST_BACKOFF_SECONDS = 0.01
_MAX_BACKOFF_SECONDS = 0.5
# An unreachable database answers "refused" or "reset" in milliseconds. A failure that took this
# long was a timeout (connect, keepalive): every further attempt would cost as much, so it opens
# the breaker at once.
_SLOW_FAILURE_SECONDS = 1.0


def sqlstate(exc: BaseException) -> str | None:
    """The PostgreSQL SQLSTATE behind a Django database error, if any."""
    return getattr(exc.__cause__, "sqlstate", None) or getattr(exc, "sqlstate", None)


def is_unreachable(exc: BaseException) -> bool:
    """The database could not be reached, or dropped the connection (not a lock conflict)."""
    if isinstance(exc, InterfaceError):
        return True  # the connection is gone (closed by the server or the network)
    if not isinstance(exc, OperationalError):
        return False
    state = sqlstate(exc)
    if state is None:
        # psycopg reports refused, timed-out and lost connections without a SQLSTATE. SQLite's
        # "database is locked" has none either, and is a lock conflict, not an outage.
        return connection.vendor != "sqlite"
    return state.startswith("08") or state in _UNREACHABLE_SQLSTATES


def is_transient(exc: BaseException) -> bool:
    """A failure that another attempt may not hit: lock conflicts, timeouts, a lost connection."""
    if is_unreachable(exc):
        return True
    if not isinstance(exc, OperationalError):
        return False
    state = sqlstate(exc)
    return state is None or state in _RETRYABLE_SQLSTATES  # None: SQLite's "database is locked"


# --- the circuit breaker ------------------------------------------------------------------------

_breaker: CircuitBreaker | None = None


def database_breaker() -> CircuitBreaker:
    """This process's breaker for the database, built from the settings on first use."""
    global _breaker
    if _breaker is None:
        _breaker = CircuitBreaker(
            failure_threshold=settings.DB_BREAKER_FAILURES,
            cooldown=settings.DB_BREAKER_COOLDOWN_SECONDS,
            # A probe is one `SELECT 1`: a connect timeout, then a statement timeout at most.
            probe_timeout=(
                settings.DB_CONNECT_TIMEOUT_SECONDS + settings.DB_STATEMENT_TIMEOUT_SECONDS
            ),
        )
    return _breaker


def database_breaker_reset() -> None:
    """Forget the breaker's state; it is rebuilt from the settings on next use (tests)."""
    global _breaker
    _breaker = None


def _reset_breaker(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("DB_"):
        database_breaker_reset()


setting_changed.connect(_reset_breaker, dispatch_uid="orderservice.common.db.reset_breaker")


def _breaker_wait(refusal: CircuitOpen) -> int:
    return max(1, math.ceil(refusal.wait))


def _admit() -> None:
    """Raise CircuitOpen while the breaker is open; once it has cooled down, start the probe."""
    breaker = database_breaker()
    refusal = breaker.refusal()
    if refusal is None:
        return
    if breaker.claim_probe():
        threading.Thread(target=_probe, name="db-probe", daemon=True).start()
    raise refusal


def _probe() -> None:
    # In its own thread, on its own connection: requests keep failing fast meanwhile instead of
    # waiting out a connect timeout each.
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DbError as exc:
        logger.info("database probe failed: %s", exc)
        _note_failure(exc)
    else:
        _note_success()
    finally:
        with contextlib.suppress(DbError):
            connection.close()


def _note_success() -> None:
    if database_breaker().record_success():
        logger.warning("database answers again: circuit closed")
    alerts.database_recovered()


def _note_failure(exc: BaseException, *, elapsed: float = 0.0) -> None:
    if not is_unreachable(exc):
        return
    timed_out = isinstance(exc.__cause__, psycopg.errors.ConnectionTimeout)
    decisive = timed_out or elapsed >= _SLOW_FAILURE_SECONDS
    if database_breaker().record_failure(decisive=decisive):
        logger.error(
            "database unreachable: circuit open for %ss", settings.DB_BREAKER_COOLDOWN_SECONDS
        )


def _on_connection_created(**kwargs: Any) -> None:
    # A new connection is the first sign the database is back, also when only reads are served.
    _note_success()


connection_created.connect(
    _on_connection_created, dispatch_uid="orderservice.common.db.connection_created"
)


# --- the transaction wrapper --------------------------------------------------------------------


class _CommitOutcomeUnknown(Exception):
    """The connection broke during COMMIT: the transaction may or may not be stored."""


def in_transaction(func: Callable[P, R]) -> Callable[P, R]:
    """Run `func` in `transaction.atomic()`, retrying transient failures with jittered backoff.

    Retries stop before the settings' DB_RETRY_BUDGET_SECONDS would be overrun (no sleep, and no
    attempt that judged by the last one would end past it), then DatabaseUnavailable is raised;
    on PostgreSQL each late attempt's lock and statement timeouts are cut to what is left of the
    budget. A connection that failed is discarded before the next attempt. While the circuit
    breaker is open, DatabaseUnavailable is raised at once. A call made inside an existing
    transaction runs under a savepoint and is not retried here: the outermost wrapper owns the
    transaction and retries the whole of it.

    A connection lost during COMMIT is not retried (the first attempt may have been stored, and a
    second would store the work twice): the caller gets DatabaseUnavailable. Clients make such
    a retry safe with an Idempotency-Key.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if connection.in_atomic_block:
            # Part of the caller's unit of work, retried by its wrapper; a savepoint still undoes
            # this part's writes when it raises, so the caller may go on (and tests, which run
            # inside a transaction, see what production sees).
            with transaction.atomic():
                return func(*args, **kwargs)
        return _run_with_retries(functools.partial(func, *args, **kwargs))

    return wrapper


def in_single_statement(func: Callable[P, R]) -> Callable[P, R]:
    """`in_transaction` for a unit of work that is a single SQL statement on PostgreSQL.

    On PostgreSQL `func` runs in autocommit mode: its one statement is its own transaction, which
    saves the BEGIN and COMMIT round trips and holds row locks only while the statement runs. The
    retry policy is the same, except that a connection lost while the statement ran is not
    retried (it may have committed): DatabaseUnavailable at once, as for a COMMIT lost in
    `in_transaction`. Elsewhere (SQLite), and inside a caller's transaction, it is
    `in_transaction`.
    """
    transactional = in_transaction(func)

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if connection.in_atomic_block or connection.vendor != "postgresql":
            return transactional(*args, **kwargs)
        return _run_with_retries(functools.partial(func, *args, **kwargs), atomic=False)

    return wrapper


def _run_with_retries(work: Callable[[], R], *, atomic: bool = True) -> R:
    budget = settings.DB_RETRY_BUDGET_SECONDS
    started = clock.monotonic()
    deadline = started + budget
    attempt_started = [started]

    def out_of_budget(state: tenacity.RetryCallState) -> bool:
        now = clock.monotonic()
        last_attempt = now - attempt_started[0]
        return now + state.upcoming_sleep + last_attempt >= deadline

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(is_transient),
        stop=out_of_budget,
        wait=tenacity.wait_random_exponential(
            multiplier=_FIRST_BACKOFF_SECONDS, max=_MAX_BACKOFF_SECONDS
        ),
        sleep=clock.sleep,
        before_sleep=_before_retry,
        reraise=False,
    )
    try:
        for attempt in retrying:
            with attempt:
                attempt_started[0] = clock.monotonic()
                late = attempt.retry_state.attempt_number > 1
                return _attempt(work, deadline if late else None, atomic=atomic)
    except tenacity.RetryError as exc:
        last = exc.last_attempt.exception()
        reason = f"no success within the {budget:g}s retry budget: {last}"
        wait = settings.DB_BREAKER_COOLDOWN_SECONDS if last and is_unreachable(last) else 1
        raise _unavailable(reason, wait) from last
    except CircuitOpen as exc:
        raise _unavailable("circuit open after repeated connection failures", exc.wait) from exc
    except _CommitOutcomeUnknown as exc:
        logger.error("connection lost during COMMIT; the outcome is unknown", exc_info=exc)
        raise _unavailable(f"connection lost during COMMIT: {exc.__cause__}", 1) from exc
    raise AssertionError("unreachable: tenacity either returns or raises")


def _attempt(work: Callable[[], R], deadline: float | None, *, atomic: bool = True) -> R:
    _admit()
    started = clock.monotonic()
    # Set from the moment a lost connection could mean the work was stored after all.
    outcome_unknown = False
    try:
        if atomic:
            with transaction.atomic():
                if deadline is not None:
                    _cap_timeouts(deadline)
                result = work()
                outcome_unknown = True  # what fails now is the COMMIT
        else:
            connection.ensure_connection()  # a failure to connect sent nothing: safe to retry
            outcome_unknown = True  # the single statement commits by itself once sent
            result = work()
    except DbError as exc:  # DatabaseError or InterfaceError
        if not is_unreachable(exc):
            _note_success()  # the database answered, if only to refuse
            raise
        _note_failure(exc, elapsed=clock.monotonic() - started)
        if outcome_unknown:
            raise _CommitOutcomeUnknown() from exc
        raise
    except Exception:
        _note_success()  # a domain refusal (out of stock, not found...) is an answer too
        raise
    _note_success()
    return result


def _cap_timeouts(deadline: float) -> None:
    # A retry may not wait on a lock (or run) longer than what is left of the budget. The first
    # attempt keeps the configured timeouts: no extra round trip on the common path.
    if connection.vendor != "postgresql":
        return
    left_ms = max(1, int((deadline - clock.monotonic()) * 1000))
    lock_ms: float = int(settings.DB_LOCK_TIMEOUT_SECONDS * 1000) or math.inf  # 0: no limit
    statement_ms: float = int(settings.DB_STATEMENT_TIMEOUT_SECONDS * 1000) or math.inf
    if left_ms >= max(lock_ms, statement_ms):
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('lock_timeout', %s, true),"
            " set_config('statement_timeout', %s, true)",
            [f"{min(left_ms, lock_ms)}ms", f"{min(left_ms, statement_ms)}ms"],
        )


def _before_retry(state: tenacity.RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    logger.info("transient database failure, attempt %d: %s", state.attempt_number, exc)
    metrics.ORDERS_DB_RETRIES.inc()
    if exc is not None and is_unreachable(exc):
        _discard_broken_connection()


def _discard_broken_connection() -> None:
    # A connection that failed mid-transaction may be unusable; closing it makes the next attempt
    # open a fresh one instead of failing the same way.
    if connection.in_atomic_block:
        return
    try:
        connection.close()
    except DatabaseError:
        logger.debug("closing a broken connection failed", exc_info=True)


def _unavailable(reason: str, wait: float) -> DatabaseUnavailable:
    alerts.database_unavailable(reason)
    return DatabaseUnavailable(wait=max(1, math.ceil(wait)))


# --- outside the wrapper: reads, readiness --------------------------------------------------------


def database_refusal() -> DatabaseUnavailable | None:
    """DatabaseUnavailable while the breaker is open (answer at once), else None. No I/O here
    (a due probe runs in the background)."""
    try:
        _admit()
    except CircuitOpen as exc:
        return DatabaseUnavailable(wait=_breaker_wait(exc))
    return None


def database_failed(exc: OperationalError | InterfaceError) -> DatabaseUnavailable:
    """A read outside `in_transaction` hit OperationalError/InterfaceError: record it, and
    return the DatabaseUnavailable to answer with (no retry: a read is cheap to retry client-side).
    """
    _note_failure(exc)
    if is_unreachable(exc):
        _discard_broken_connection()
    logger.warning("database error outside a transaction: %s", exc)
    return _unavailable(f"a read failed: {exc}", 1)


def database_ping() -> None:
    """`SELECT 1` on this thread's connection; raises DatabaseUnavailable when it fails.

    Bounded by DB_CONNECT_TIMEOUT_SECONDS and the statement timeout; refused at once while the
    breaker is open.
    """
    refusal = database_refusal()
    if refusal is not None:
        raise refusal
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except (OperationalError, InterfaceError) as exc:
        raise database_failed(exc) from exc
    _note_success()


def require_transaction() -> None:
    """Fail fast when a stock function is called outside the caller's transaction."""
    if not connection.in_atomic_block:
        raise RuntimeError("this function must run inside the caller's transaction")
