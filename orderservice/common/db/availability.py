"""This process's circuit breaker for the database: admit or refuse, probe, record each outcome.

Each thread holds a connection of its own (uWSGI's SERVER_THREADS, granian's blocking threads), and
a failure of the database kills them all, though each thread finds out only when it next uses
its own. Every connection is stamped with the breaker's generation when it opens (bumped by each
failure counted, see orderservice/common/breaker.py). One from an older generation lived through
a failure: it is closed before a request (`discard_connection_older_than_a_failure`, called by
api/health.DatabaseCircuitMiddleware) or a unit of work (`discard_stale_connection`) uses it, and
a failure on it is not counted (`note_failure(opened_in=...)`). So the threads of a process that
each find their pooled connection dead after a partition heals open no breaker: one failure
counts, and the others' connections were opened before it.
"""

import contextlib
import logging
import math
import select
import threading
from typing import Any

import psycopg
from django.conf import settings
from django.core.signals import setting_changed
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections
from django.db import Error as DbError
from django.db.backends.signals import connection_created

from orderservice.common import alerts
from orderservice.common.breaker import CircuitBreaker
from orderservice.common.db.errors import is_unreachable
from orderservice.common.db.watchdog import bounded
from orderservice.common.exceptions import DatabaseUnavailable

logger = logging.getLogger(__name__)

# An unreachable database answers "refused" or "reset" in milliseconds. A failure that took this
# long was a timeout (connect, keepalive): every further attempt would cost as much, so it opens
# the breaker at once.
_SLOW_FAILURE_SECONDS = 1.0

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


def admit() -> None:
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
    # waiting out a connect timeout each. A unit of its own: its `SELECT 1` is not retried.
    try:
        connection.ensure_connection()
        with bounded(connection, settings.DB_RETRY_BUDGET_SECONDS), connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DbError as exc:
        logger.info("database probe failed: %s", exc)
        note_failure(exc)
    else:
        note_success()
    finally:
        with contextlib.suppress(DbError):
            connection.close()


def note_success() -> None:
    """The database answered: close the breaker, and tell the admins if it had been down."""
    if database_breaker().record_success():
        logger.warning("database answers again: circuit closed")
    alerts.database_recovered()


def note_failure(exc: BaseException, *, elapsed: float = 0.0, opened_in: int | None = None) -> None:
    """Count an unreachable database against the breaker (other errors are not outages).

    `opened_in`: `connection_generation` of the connection that failed, taken before the failure
    closed it (None: it failed to connect). A connection older than the breaker's generation
    lived through a failure counted already: its failure is not counted again.
    """
    if not is_unreachable(exc):
        return
    timed_out = isinstance(exc.__cause__, psycopg.errors.ConnectionTimeout)
    decisive = timed_out or elapsed >= _SLOW_FAILURE_SECONDS
    if database_breaker().record_failure(decisive=decisive, opened_in=opened_in):
        logger.error(
            "database unreachable: circuit open for %ss", settings.DB_BREAKER_COOLDOWN_SECONDS
        )


def _on_connection_created(*, connection: Any, **kwargs: Any) -> None:
    # A new connection is the first sign the database is back, also when only reads are served.
    note_success()
    connection.opened_in_generation = database_breaker().generation


def connection_generation(db: Any) -> int | None:
    """The breaker generation `db` (a Django connection) was opened in; None when it holds no
    open connection (or one opened before this module was imported: nothing is known of it)."""
    if db.connection is None:
        return None
    generation: int | None = getattr(db, "opened_in_generation", None)
    return generation


connection_created.connect(
    _on_connection_created, dispatch_uid="orderservice.common.db.connection_created"
)


def discard_broken_connection() -> None:
    """Close this thread's connection after it failed, outside a transaction."""
    # A connection that failed mid-transaction may be unusable; closing it makes the next attempt
    # open a fresh one instead of failing the same way.
    if connection.in_atomic_block:
        return
    try:
        connection.close()
    except DatabaseError:
        logger.debug("closing a broken connection failed", exc_info=True)


def this_threads_connection() -> Any:
    """This thread's Django connection (the `default` alias) itself: each attribute read through
    `django.db.connection` looks the thread's connection up again, which costs more than most of
    what is read."""
    return connections[DEFAULT_DB_ALIAS]


def discard_stale_connection(db: Any) -> None:
    """Close `db` (this thread's connection) while idle if it lived through a database failure
    (opened before the breaker's generation) or, on PostgreSQL, if the server hung up on it."""
    # Between statements the server owes us nothing, so a readable socket means end-of-file or
    # a reset (or an unsolicited notice, and then the cost is one reconnect). Found before
    # anything is sent, a dead connection may be replaced even for a statement that must not
    # run twice. No round trip: an integer compare, and one poll(2).
    raw = db.connection
    if raw is None or db.in_atomic_block:
        return
    if _outlived_a_failure(db):
        return
    if db.vendor != "postgresql":
        return
    try:
        poller = select.poll()
        poller.register(raw.pgconn.socket, select.POLLIN)
        hung_up = bool(poller.poll(0))
    except (psycopg.Error, OSError):  # the socket is gone already
        hung_up = True
    if hung_up:
        logger.info("the database closed an idle connection: reconnecting")
        discard_broken_connection()


_checked = threading.local()  # .generation: the breaker generation this thread last checked at


def discard_connection_older_than_a_failure() -> None:
    """At a request's start: close this thread's connection if it lived through a database
    failure, before the request's first statement (a token lookup, a read) is sent on it.

    One integer compare per request: the connection is looked at only when the breaker's
    generation moved since this thread last looked.
    """
    generation = database_breaker().generation
    if getattr(_checked, "generation", None) == generation:
        return
    _checked.generation = generation
    db = this_threads_connection()
    if db.connection is not None and not db.in_atomic_block:
        _outlived_a_failure(db)


def _outlived_a_failure(db: Any) -> bool:
    # Such a connection may be dead with no sign on its socket (a partition leaves none): its
    # first statement would wait out the watchdog, and then count as a failure.
    opened_in = connection_generation(db)
    if opened_in is None or opened_in >= database_breaker().generation:
        return False
    logger.info("a connection older than the last database failure: reconnecting")
    discard_broken_connection()
    return True


def unavailable(reason: str, wait: float) -> DatabaseUnavailable:
    """Alert the admins, and return the DatabaseUnavailable to raise (Retry-After `wait`)."""
    alerts.database_unavailable(reason)
    return DatabaseUnavailable(wait=max(1, math.ceil(wait)))
