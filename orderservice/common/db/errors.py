"""Database errors classified: their SQLSTATE, and whether unreachable (an outage) or transient."""

from django.db import InterfaceError, OperationalError, connection

# SQLSTATEs worth another attempt: serialization_failure, deadlock_detected, lock_not_available
# (lock_timeout), query_canceled (statement_timeout).
_RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03", "57014"}
# The server is going away or not accepting connections: admin_shutdown, crash_shutdown,
# cannot_connect_now. Like class 08 (connection exception), these mean "unreachable".
_UNREACHABLE_SQLSTATES = {"57P01", "57P02", "57P03"}


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
