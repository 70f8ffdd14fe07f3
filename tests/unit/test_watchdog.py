"""The database watchdog: a round trip still waiting at its deadline has its socket shut down,
one disarmed in time is left alone, and a nested deadline holds only inside its block."""

import socket
import time
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from orderservice.common.db.watchdog import bounded, in_bounded_unit, watchdog


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """Our end (the client's connection) and the far end (a server that says nothing)."""
    ours, far = socket.socketpair()
    ours.settimeout(10)  # a failing test ends, instead of hanging
    try:
        yield ours, far
    finally:
        ours.close()
        far.close()


def _db(sock: socket.socket) -> SimpleNamespace:
    """What `bounded` reads of a Django connection: connection.pgconn.socket."""
    return SimpleNamespace(connection=SimpleNamespace(pgconn=SimpleNamespace(socket=sock.fileno())))


def test_a_read_still_waiting_at_the_deadline_ends_at_once(pair):
    ours, _ = pair
    started = time.monotonic()
    guard = watchdog.arm(ours.fileno(), started + 0.2)
    try:
        data = ours.recv(1)  # the far end never writes
    finally:
        watchdog.disarm(guard)
    elapsed = time.monotonic() - started
    assert data == b""  # end-of-file: psycopg reports the connection lost
    assert guard.cut
    assert 0.15 <= elapsed < 5, elapsed


def test_a_guard_disarmed_in_time_leaves_the_connection_alone(pair):
    ours, far = pair
    watchdog.disarm(watchdog.arm(ours.fileno(), time.monotonic() + 0.05))
    time.sleep(0.2)
    far.sendall(b"x")
    assert ours.recv(1) == b"x"


def test_a_nested_deadline_holds_inside_its_block_only(pair):
    ours, far = pair
    db = _db(ours)
    assert not in_bounded_unit()
    with bounded(db, 30):  # a unit of work
        assert in_bounded_unit()
        with bounded(db, 60):  # a later deadline changes nothing
            pass
        with bounded(db, 0.2):  # one statement
            started = time.monotonic()
            assert ours.recv(1) == b""
        assert 0.15 <= time.monotonic() - started < 5
    assert not in_bounded_unit()


def test_an_inner_block_gives_the_unit_its_deadline_back(pair):
    ours, far = pair
    db = _db(ours)
    with bounded(db, 30):
        with bounded(db, 0.1):
            pass
        time.sleep(0.3)  # past the inner deadline: no cut, the unit's deadline holds again
        far.sendall(b"x")
        assert ours.recv(1) == b"x"
