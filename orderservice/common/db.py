"""One wrapper that runs a unit of work in a transaction and retries transient database failures."""

import functools
import logging
import math
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import tenacity
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction

from orderservice.common import clock
from orderservice.common.exceptions import DatabaseUnavailable

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

# SQLSTATEs worth another attempt: serialization_failure, deadlock_detected, lock_not_available,
# query_canceled (statement_timeout).
_RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03", "57014"}

_FIRST_BACKOFF_SECONDS = 0.01
_MAX_BACKOFF_SECONDS = 0.5


def _sqlstate(exc: BaseException) -> str | None:
    cause = exc.__cause__
    return getattr(cause, "sqlstate", None)


def is_transient(exc: BaseException) -> bool:
    """A failure that another attempt may not hit: lock conflicts, timeouts, a lost connection."""
    if isinstance(exc, InterfaceError):
        return True  # the connection is gone (closed by the server or the network)
    if not isinstance(exc, OperationalError):
        return False
    state = _sqlstate(exc)
    if state is None:
        # SQLite's "database is locked", or a connection failure without SQLSTATE.
        return True
    return state in _RETRYABLE_SQLSTATES or state.startswith("08")  # 08xxx: connection exception


def _discard_broken_connection() -> None:
    # A connection that failed mid-transaction may be unusable; closing it makes the next attempt
    # open a fresh one instead of failing the same way.
    if connection.in_atomic_block:
        return
    try:
        connection.close()
    except DatabaseError:
        logger.debug("closing a broken connection failed", exc_info=True)


def in_transaction(func: Callable[P, R]) -> Callable[P, R]:
    """Run `func` in `transaction.atomic()`, retrying transient failures with jittered backoff.

    Retries stop when the settings' DB_RETRY_BUDGET_SECONDS is spent; the last failure is then
    raised as DatabaseUnavailable. A call made inside an existing transaction is not retried here:
    the outermost wrapper owns the transaction and retries the whole of it.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if connection.in_atomic_block:
            return func(*args, **kwargs)
        budget = settings.DB_RETRY_BUDGET_SECONDS
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(is_transient),
            stop=tenacity.stop_after_delay(budget),
            wait=tenacity.wait_random_exponential(
                multiplier=_FIRST_BACKOFF_SECONDS, max=_MAX_BACKOFF_SECONDS
            ),
            sleep=clock.sleep,
            before_sleep=_before_retry,
            reraise=False,
        )
        try:
            for attempt in retrying:
                with attempt, transaction.atomic():
                    return func(*args, **kwargs)
        except tenacity.RetryError as exc:
            raise DatabaseUnavailable(
                wait=max(1, math.ceil(budget))
            ) from exc.last_attempt.exception()
        raise AssertionError("unreachable: tenacity either returns or raises")

    return wrapper


def _before_retry(state: tenacity.RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    logger.info("transient database failure, attempt %d: %s", state.attempt_number, exc)
    _discard_broken_connection()


def require_transaction() -> None:
    """Fail fast when a stock function is called outside the caller's transaction."""
    if not connection.in_atomic_block:
        raise RuntimeError("this function must run inside the caller's transaction")
