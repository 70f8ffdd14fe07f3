"""Outside the retrying wrapper: refusal while the breaker is open, failed reads, readiness ping."""

import logging
import math

from django.db import InterfaceError, OperationalError, connection

from orderservice.common.breaker import CircuitOpen
from orderservice.common.db.availability import (
    admit,
    connection_generation,
    discard_broken_connection,
    note_failure,
    note_success,
    unavailable,
)
from orderservice.common.db.errors import is_unreachable
from orderservice.common.exceptions import DatabaseUnavailable

logger = logging.getLogger(__name__)


def _breaker_wait(refusal: CircuitOpen) -> int:
    return max(1, math.ceil(refusal.wait))


def database_refusal() -> DatabaseUnavailable | None:
    """DatabaseUnavailable while the breaker is open (answer at once), else None. No I/O here
    (a due probe runs in the background)."""
    try:
        admit()
    except CircuitOpen as exc:
        return DatabaseUnavailable(wait=_breaker_wait(exc))
    return None


def database_failed(exc: OperationalError | InterfaceError) -> DatabaseUnavailable:
    """A statement outside `in_transaction` failed and was not retried: record it, and return the
    DatabaseUnavailable to answer with.

    A read that lost its connection is retried where it runs (statements.bounded_execute), and
    raises DatabaseUnavailable itself once the budget is spent; what comes here is the rest: a
    read the server refused (statement timeout), a write outside a unit of work, SQLite.
    """
    note_failure(exc, opened_in=connection_generation(connection))
    if is_unreachable(exc):
        discard_broken_connection()
    logger.warning("database error outside a transaction: %s", exc)
    return unavailable(f"a read failed: {exc}", 1)


def database_ping() -> None:
    """`SELECT 1` on this thread's connection; raises DatabaseUnavailable when it fails.

    A read like any other: a lost connection is replaced and the ping retried within
    DB_RETRY_BUDGET_SECONDS, and the watchdog gives up on a database that does not answer.
    Refused at once while the breaker is open.
    """
    refusal = database_refusal()
    if refusal is not None:
        raise refusal
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except (OperationalError, InterfaceError) as exc:
        raise database_failed(exc) from exc
    note_success()
