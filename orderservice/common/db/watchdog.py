"""A thread per process that cuts a database round trip still unanswered at its deadline."""

import logging
import math
import os
import socket
import threading
import time
from types import TracebackType
from typing import Any

import psycopg

logger = logging.getLogger(__name__)

# A connection whose network path silently drops everything never fails by itself: the query's
# bytes were acknowledged, TCP keepalives may still be answered (by a proxy, a NAT, a firewall),
# and psycopg waits on the socket for ever. Only the client's clock can end that wait. While a
# round trip is armed, the watchdog holds its deadline; at the deadline it shuts the connection's
# socket down (SHUT_RDWR), so the blocked read sees end-of-file at once and psycopg raises
# OperationalError, which the callers already treat as a lost connection. Shutting our own
# socket needs nothing from the network; a cancel request (`conn.cancel()`) would need a new
# connection to the server, which the partition blocks too.
#
# One thread and one lock for the process, not a timer per statement. Arming costs the lock, a
# set insertion and a dup(2) of the socket; the thread is woken only when a deadline comes
# earlier than the one it sleeps towards, not once per statement.


class Guard:
    """One armed deadline (time.monotonic) on one connection's socket."""

    __slots__ = ("cut", "deadline", "fd")

    def __init__(self, fd: int, deadline: float) -> None:
        self.fd = fd
        self.deadline = deadline
        self.cut = False  # the watchdog shut the socket down


class Watchdog:
    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._guards: set[Guard] = set()
        self._wake_at = math.inf  # when the thread wakes next (it may wake earlier)
        self._thread: threading.Thread | None = None

    def arm(self, fd: int, deadline: float) -> Guard:
        """Shut socket `fd` down at `deadline` (time.monotonic) unless disarmed before."""
        # Our own descriptor for the socket: libpq closes its own when the connection breaks,
        # and the number may be reused by another socket before `disarm`; shutting ours down
        # still reaches this connection only.
        guard = Guard(os.dup(fd), deadline)
        with self._lock:
            self._guards.add(guard)
            self._wake_before(deadline)
        return guard

    def move(self, guard: Guard, deadline: float) -> None:
        """Give an armed guard another deadline."""
        with self._lock:
            guard.deadline = deadline
            self._wake_before(deadline)

    def disarm(self, guard: Guard) -> None:
        with self._lock:
            self._guards.discard(guard)
        os.close(guard.fd)  # out of the set: the watchdog no longer touches it

    def after_fork(self) -> None:
        # A forked child has none of its parent's threads, and the lock may have been held.
        self._reset()

    def _wake_before(self, deadline: float) -> None:
        # With the lock held. A later deadline needs no wake-up: the thread wakes at the earlier
        # one anyway, then sleeps towards the next.
        if deadline >= self._wake_at:
            return
        self._wake_at = deadline
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="db-watchdog", daemon=True)
            self._thread.start()
        else:
            self._changed.notify()

    def _run(self) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                due = [g for g in self._guards if not g.cut and g.deadline <= now]
                for guard in due:
                    # Under the lock: `disarm` cannot close the descriptor meanwhile.
                    guard.cut = True
                    _shut_down(guard.fd)
                pending = [g.deadline for g in self._guards if not g.cut]
                self._wake_at = min(pending, default=math.inf)
                timeout = None if self._wake_at == math.inf else self._wake_at - now
                if not due:
                    self._changed.wait(timeout)
            if due:  # logged without the lock, which every statement takes
                logger.warning(
                    "%d database round trip(s) unanswered at the deadline: cut", len(due)
                )


def _shut_down(fd: int) -> None:
    sock = socket.socket(fileno=fd)
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError as exc:  # the peer closed it already: the round trip ends anyway
        logger.debug("shutting down a database socket failed: %s", exc)
    finally:
        sock.detach()  # the descriptor stays the guard's, closed by `disarm`


watchdog = Watchdog()
os.register_at_fork(after_in_child=watchdog.after_fork)

_local = threading.local()  # .guard: this thread's armed Guard, or None


def in_bounded_unit() -> bool:
    """This thread is inside `bounded(...)`: a unit of work that owns its deadline and retries."""
    return getattr(_local, "guard", None) is not None


class bounded:  # noqa: N801 (used like a function: `with bounded(connection, seconds):`)
    """This thread's round trips on `db` (a connected Django PostgreSQL connection) end within
    `seconds`: the watchdog cuts the connection's socket then. Nested, the earlier deadline holds
    until the inner block ends. One connection per thread (the `default` alias).

    A class rather than a generator-based context manager: it runs around every statement.
    """

    __slots__ = ("_armed", "_db", "_moved", "_seconds")

    def __init__(self, db: Any, seconds: float) -> None:
        self._db = db
        self._seconds = seconds

    def __enter__(self) -> None:
        deadline = time.monotonic() + self._seconds
        self._armed: Guard | None = None  # the guard this block armed
        self._moved: tuple[Guard, float] | None = None  # an outer guard brought forward, and when
        outer: Guard | None = getattr(_local, "guard", None)
        if outer is None:
            fd = _socket_of(self._db)
            if fd is None:  # no socket to wait on: the round trip fails at once
                return
            try:
                self._armed = _local.guard = watchdog.arm(fd, deadline)
            except OSError as exc:  # out of descriptors: the statement runs unguarded
                logger.warning("database round trip not guarded: %s", exc)
        elif deadline < outer.deadline:
            self._moved = (outer, outer.deadline)
            watchdog.move(outer, deadline)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._armed is not None:
            _local.guard = None
            watchdog.disarm(self._armed)
        elif self._moved is not None:
            watchdog.move(*self._moved)


def _socket_of(db: Any) -> int | None:
    try:
        return int(db.connection.pgconn.socket)
    except (AttributeError, psycopg.Error):  # not connected, or the connection is lost
        return None
