"""Every SQL statement bounded in time, and a read whose connection was lost run again."""

import logging
import math
import random
from typing import Any

from django.conf import settings
from django.db import Error as DbError
from django.db.backends.signals import connection_created

from orderservice.common import clock, metrics
from orderservice.common.breaker import CircuitOpen
from orderservice.common.db.availability import (
    admit,
    connection_generation,
    discard_broken_connection,
    note_failure,
    unavailable,
)
from orderservice.common.db.errors import is_unreachable
from orderservice.common.db.watchdog import bounded, in_bounded_unit
from orderservice.common.logging import request_id_var

logger = logging.getLogger(__name__)

# A live server ends a statement at its own limits (statement_timeout, lock_timeout; capped to
# the budget left on late attempts) and says so, with an answer the callers handle (57014,
# 55P03). The watchdog cuts this much later, so that it only ever ends a wait on a server that
# says nothing: a slow but live database is not taken for a lost one (which opens the breaker).
SILENCE_MARGIN_SECONDS = 0.5
_FIRST_BACKOFF_SECONDS = 0.01
_MAX_BACKOFF_SECONDS = 0.5


def backoff(attempt: int) -> float:
    """The pause after failed attempt number `attempt` (1, 2, ...): full jitter, exponential."""
    return random.uniform(0, min(_MAX_BACKOFF_SECONDS, _FIRST_BACKOFF_SECONDS * 2 ** (attempt - 1)))


def round_trip_seconds(left: float) -> float:
    """How long one statement may wait for its answer, with `left` seconds of the budget left:
    the server's own limit or the budget, whichever ends first, and the margin."""
    statement = settings.DB_STATEMENT_TIMEOUT_SECONDS
    limit = min(left, statement) if statement > 0 else left  # 0: no server-side limit
    return max(0.0, limit) + SILENCE_MARGIN_SECONDS


def serving_request() -> bool:
    """Whether this thread (or task) is answering an HTTP request.

    The retry budget bounds what a request waits for (SPEC §8). Outside requests (migrate, the
    management commands) a statement may run as long as the server lets it: an operator who
    raises DB_STATEMENT_TIMEOUT_SECONDS for a long migration gets what they asked for. A request
    is marked by its id, which the outermost middleware sets and the response's close clears
    (orderservice/api/request_log.py): no request_started receiver of its own, which would keep
    Django's dispatch of that signal running on every request (api/request_signals.py).
    """
    return request_id_var.get() is not None


def bounded_execute(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
    """Run the statement under the watchdog; run a read that lost its connection again.

    A Django execute wrapper ("database instrumentation"), installed on every PostgreSQL
    connection as it opens: the token lookup, the selectors, the readiness ping and each
    statement of a unit of work all pass through it.
    """
    db = context["connection"]
    started = clock.monotonic()
    left = settings.DB_RETRY_BUDGET_SECONDS if serving_request() else math.inf
    try:
        with bounded(db, round_trip_seconds(left)):
            return execute(sql, params, many, context)
    except DbError as exc:
        if not is_unreachable(exc):
            raise
        if db.in_atomic_block:
            # The connection is dead. Closed inside the atomic block, Django skips the ROLLBACK
            # and, as the outermost block ends, does not reconnect to restore autocommit (which
            # would wait out a connect timeout on a network that swallows everything); the
            # unit of work retries on a new connection, within its budget.
            db.close()
            raise
        if not _repeatable(db, sql, many, context):
            raise
        failure = exc
        opened_in = connection_generation(db)
    return _read_again(execute, sql, params, many, context, failure, opened_in, started)


def _repeatable(db: Any, sql: str, many: bool, context: Any) -> bool:
    # A SELECT run on its own (autocommit, no transaction around it) changes nothing that
    # outlives its session, and the session died with the connection: running it again on a
    # new one gives the answer the first would have given. (This service has no SQL function
    # that writes.) Any other statement may have been executed and committed by the server
    # before the connection broke: running it again could apply it twice, so it is not
    # repeated here. Inside a transaction, or a unit of work that retries as a whole
    # (`in_transaction`, `in_single_statement`), no statement is repeated on its own.
    return (
        not many
        and not db.in_atomic_block
        and not in_bounded_unit()
        and sql.lstrip()[:6].upper() == "SELECT"
        and not getattr(context["cursor"].cursor, "name", None)  # not a server-side cursor
    )


def _read_again(
    execute: Any,
    sql: str,
    params: Any,
    many: bool,
    context: Any,
    failure: DbError,
    opened_in: int | None,
    started: float,
) -> Any:
    """Reconnect and run the read again, with jittered backoff, within the retry budget counted
    from its first attempt; then DatabaseUnavailable, as for a unit of work (in_transaction)."""
    db = context["connection"]
    budget = settings.DB_RETRY_BUDGET_SECONDS
    deadline = started + budget
    attempt_started = started
    attempt = 1
    while True:
        now = clock.monotonic()
        last_attempt = now - attempt_started
        note_failure(failure, elapsed=last_attempt, opened_in=opened_in)
        discard_broken_connection()
        pause = backoff(attempt)
        # No attempt that, judged by the last one, would end past the budget.
        if now + pause + last_attempt >= deadline:
            reason = f"no read within the {budget:g}s retry budget: {failure}"
            raise unavailable(reason, settings.DB_BREAKER_COOLDOWN_SECONDS) from failure
        logger.info("database connection lost, read attempt %d: %s", attempt, failure)
        metrics.ORDERS_DB_RETRIES.inc()
        clock.sleep(pause)
        attempt += 1
        attempt_started = clock.monotonic()
        try:
            admit()
            db.ensure_connection()
            # The caller holds this cursor wrapper and fetches the rows from it: give it a
            # cursor on the new connection (the old one died with its connection).
            context["cursor"].cursor = db.create_cursor()
            with bounded(db, round_trip_seconds(deadline - attempt_started)):
                return execute(sql, params, many, context)
        except CircuitOpen as exc:
            raise unavailable("circuit open after repeated connection failures", exc.wait) from exc
        except DbError as exc:
            if not is_unreachable(exc):
                raise
            failure = exc
            opened_in = connection_generation(db)  # None: the reconnect failed


def _install(connection: Any, **kwargs: Any) -> None:
    # First in the list: the outermost wrapper, and not the one a caller's own
    # `connection.execute_wrapper()` block pops when it ends.
    if connection.vendor == "postgresql" and bounded_execute not in connection.execute_wrappers:
        connection.execute_wrappers.insert(0, bounded_execute)


connection_created.connect(_install, dispatch_uid="orderservice.common.db.bounded_execute")
