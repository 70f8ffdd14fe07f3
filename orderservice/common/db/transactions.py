"""One wrapper that runs a unit of work in a transaction and retries transient database failures."""

import functools
import logging
import math
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import tenacity
from django.conf import settings
from django.db import Error as DbError
from django.db import connection, transaction

from orderservice.common import clock, metrics
from orderservice.common.breaker import CircuitOpen
from orderservice.common.db.availability import (
    admit,
    connection_generation,
    discard_broken_connection,
    discard_stale_connection,
    note_failure,
    note_success,
    this_threads_connection,
    unavailable,
)
from orderservice.common.db.errors import is_transient, is_unreachable
from orderservice.common.db.statements import SILENCE_MARGIN_SECONDS, backoff
from orderservice.common.db.watchdog import bounded

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


class _CommitOutcomeUnknown(Exception):
    """The connection broke during COMMIT: the transaction may or may not be stored."""


def in_transaction(func: Callable[P, R]) -> Callable[P, R]:
    """Run `func` in `transaction.atomic()`, retrying transient failures with jittered backoff.

    Retries stop before the settings' DB_RETRY_BUDGET_SECONDS would be overrun (no sleep, and no
    attempt that judged by the last one would end past it), then DatabaseUnavailable is raised;
    on PostgreSQL each late attempt's lock and statement timeouts are cut to what is left of the
    budget, and the watchdog cuts any round trip of an attempt (COMMIT included) still unanswered
    just after the budget is spent (a database that went silent). A connection that failed is
    discarded before the next attempt, and one the server hung up on while idle, or that lived
    through a database failure (availability.py), before the first. While the circuit breaker
    is open, DatabaseUnavailable is raised at once. A call made inside an existing transaction
    runs under a savepoint and is not retried here: the outermost wrapper owns the transaction
    and retries the whole of it.

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


def require_transaction() -> None:
    """Fail fast when a stock function is called outside the caller's transaction."""
    if not connection.in_atomic_block:
        raise RuntimeError("this function must run inside the caller's transaction")


def _run_with_retries(work: Callable[[], R], *, atomic: bool = True) -> R:
    budget = settings.DB_RETRY_BUDGET_SECONDS
    started = clock.monotonic()
    deadline = started + budget
    try:
        try:
            # Nearly every unit of work succeeds at once: its first attempt is made without the
            # retry machinery, which costs ~90k instructions to set up and walk (5% of a placed
            # order, `make bench-layers`). A transient failure is handed to it as its first
            # attempt's outcome (`_retried`), and judged, logged and retried as any other.
            return _attempt(work, deadline, cap_timeouts=False, atomic=atomic)
        except Exception as exc:
            if not is_transient(exc):
                raise
            first_failure = exc
        return _retried(work, first_failure, started, deadline, atomic)
    except tenacity.RetryError as exc:
        last = exc.last_attempt.exception()
        reason = f"no success within the {budget:g}s retry budget: {last}"
        wait = settings.DB_BREAKER_COOLDOWN_SECONDS if last and is_unreachable(last) else 1
        raise unavailable(reason, wait) from last
    except CircuitOpen as exc:
        raise unavailable("circuit open after repeated connection failures", exc.wait) from exc
    except _CommitOutcomeUnknown as exc:
        logger.error("connection lost during COMMIT; the outcome is unknown", exc_info=exc)
        raise unavailable(f"connection lost during COMMIT: {exc.__cause__}", 1) from exc


def _retried(
    work: Callable[[], R],
    first_failure: Exception,
    started: float,
    deadline: float,
    atomic: bool,
) -> R:
    """The attempts after a first one that failed with `first_failure` (transient), begun at
    `started`: tenacity's loop, whose first attempt raises that failure again."""
    attempt_started = [started]
    failures = [first_failure]

    def out_of_budget(state: tenacity.RetryCallState) -> bool:
        now = clock.monotonic()
        last_attempt = now - attempt_started[0]
        return now + state.upcoming_sleep + last_attempt >= deadline

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(is_transient),
        stop=out_of_budget,
        wait=lambda state: backoff(state.attempt_number),
        sleep=clock.sleep,
        before_sleep=_before_retry,
        reraise=False,
    )
    for attempt in retrying:
        with attempt:
            if failures:
                raise failures.pop()  # the first attempt, already made
            attempt_started[0] = clock.monotonic()
            return _attempt(work, deadline, cap_timeouts=True, atomic=atomic)
    raise AssertionError("unreachable: tenacity either returns or raises")


def _attempt(
    work: Callable[[], R], deadline: float, *, cap_timeouts: bool, atomic: bool = True
) -> R:
    admit()
    started = clock.monotonic()
    # Set from the moment a lost connection could mean the work was stored after all.
    outcome_unknown = False
    opened_in = None  # the generation of the connection the work runs on (None: connecting)
    try:
        # A connection that lived through a database failure, or that the server hung up on
        # while idle, is replaced before anything is sent, and a failure to connect sent
        # nothing: both are safe to retry.
        db = this_threads_connection()
        discard_stale_connection(db)
        db.ensure_connection()
        opened_in = connection_generation(db)
        # Every round trip until the attempt ends, COMMIT and ROLLBACK included: they are no
        # statements, so the statements' own deadlines miss them. (A COMMIT cut here is followed
        # by Django reconnecting, to restore autocommit as the atomic block ends: that one may
        # add a connect timeout. A statement cut closes the connection first, and does not.)
        with bounded(connection, deadline - started + SILENCE_MARGIN_SECONDS):
            if atomic:
                with transaction.atomic():
                    if cap_timeouts:
                        _cap_timeouts(deadline)
                    result = work()
                    outcome_unknown = True  # what fails now is the COMMIT
            else:
                outcome_unknown = True  # the single statement commits by itself once sent
                result = work()
    except DbError as exc:  # DatabaseError or InterfaceError
        if not is_unreachable(exc):
            note_success()  # the database answered, if only to refuse
            raise
        note_failure(exc, elapsed=clock.monotonic() - started, opened_in=opened_in)
        if outcome_unknown:
            raise _CommitOutcomeUnknown() from exc
        raise
    except Exception:
        note_success()  # a domain refusal (out of stock, not found...) is an answer too
        raise
    note_success()
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
        discard_broken_connection()
