"""SPEC §8 with several request threads per process, each holding its own PostgreSQL connection
(uWSGI's SERVER_THREADS, granian's blocking threads), in this process, through the cuttable proxy.

A failure of the database kills every thread's connection, but each thread finds out only when
it next uses its own, maybe after the database is back. Those late failures say nothing about
the database now: once it answers, every thread's next statement succeeds, none waits out a dead
connection, and the process's one breaker stays closed (orderservice/common/db/availability.py).
"""

import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any

import pytest
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from orderservice.api.health import DatabaseCircuitMiddleware
from orderservice.common.db import database_breaker, database_refusal, in_transaction
from orderservice.common.exceptions import DatabaseUnavailable
from tests.faults.proxy import TcpProxy

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.timeout(60),
    pytest.mark.django_db(transaction=True),
]

THREADS = 4
BUDGET = 1.0


class ConnectionHolder:
    """A thread that keeps its own Django connection, through the proxy, between the calls it
    runs: one request thread of a threaded app server."""

    def __init__(self, proxy_port: int) -> None:
        self._port = proxy_port
        self._calls: queue.Queue[tuple[Callable[[], Any], Future[Any]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def run(self, call: Callable[[], Any]) -> "Future[Any]":
        done: Future[Any] = Future()
        self._calls.put((call, done))
        return done

    def stop(self) -> None:
        self._calls.put(None)
        self._thread.join(timeout=10)

    def _serve(self) -> None:
        # This thread's connection only: the wrapper is the thread's own, its settings too.
        connection.settings_dict = {
            **connection.settings_dict,
            "HOST": "127.0.0.1",
            "PORT": str(self._port),
        }
        try:
            while (job := self._calls.get()) is not None:
                call, done = job
                try:
                    done.set_result(call())
                except BaseException as exc:  # reported to the test
                    done.set_exception(exc)
        finally:
            connection.close()


@pytest.fixture
def holders(settings: Any, pg_proxy: TcpProxy) -> Iterator[list[ConnectionHolder]]:
    settings.DB_RETRY_BUDGET_SECONDS = BUDGET
    settings.DB_BREAKER_COOLDOWN_SECONDS = 0.2  # (a DB_ setting changed: a fresh breaker)
    threads = [ConnectionHolder(pg_proxy.port) for _ in range(THREADS)]
    yield threads
    for thread in threads:
        thread.stop()


def on_all(holders: list[ConnectionHolder], call: Callable[[], Any]) -> list[Any]:
    """`call` on every holder's thread, released together; the results, or the first error."""
    barrier = threading.Barrier(len(holders))

    def together() -> Any:
        barrier.wait(timeout=10)
        return call()

    futures = [holder.run(together) for holder in holders]
    return [future.result(timeout=30) for future in futures]


def _timed_read() -> float:
    # A read outside any unit of work (the token lookup, a selector): retried on a new connection
    # by the statement wrapper when its connection is lost.
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
    return time.monotonic() - started


# The same read as a unit of work: its connection checked first, retried as a transaction.
_unit_of_work = in_transaction(_timed_read)


def _request_reading() -> float:
    # A request whose first statement is a read (the token lookup, a list): no unit of work
    # checks its connection first, the request's start does (DatabaseCircuitMiddleware).
    timings: list[float] = []

    def view(request: HttpRequest) -> HttpResponse:
        timings.append(_timed_read())
        return HttpResponse()

    DatabaseCircuitMiddleware(view)(RequestFactory().get("/products"))
    return timings[0]


def _wait_until_closed() -> None:
    # A request while the breaker is open starts the probe once it has cooled down.
    deadline = time.monotonic() + 10
    while database_refusal() is not None:
        assert time.monotonic() < deadline, "the breaker did not close"
        time.sleep(0.05)


@pytest.mark.parametrize(
    "next_use", [_unit_of_work, _request_reading], ids=["unit-of-work", "request-reading"]
)
def test_after_an_outage_no_thread_uses_a_connection_that_lived_through_it(
    holders: list[ConnectionHolder], pg_proxy: TcpProxy, next_use: Callable[[], float]
) -> None:
    # given: every thread holds a connection through the proxy
    on_all(holders, _unit_of_work)
    assert pg_proxy.links_open == THREADS

    # ... the link stalls, and one thread's unit of work finds out: the breaker opens
    pg_proxy.cut("stall")
    with pytest.raises(DatabaseUnavailable):
        holders[0].run(_unit_of_work).result(timeout=30)
    assert not database_breaker().is_closed

    # when: the network heals, but the connections it held stay silent for ever (a firewall
    # that lost their state), and the probe finds the database answering
    pg_proxy.restore(keep_silent=True)
    _wait_until_closed()

    # then: every thread's next unit of work, or request, runs on a new connection, at once
    elapsed = on_all(holders, next_use)
    assert all(seconds < BUDGET / 2 for seconds in elapsed), elapsed
    assert database_breaker().is_closed


def test_threads_finding_their_connections_dead_after_a_partition_do_not_open_the_breaker(
    holders: list[ConnectionHolder], pg_proxy: TcpProxy
) -> None:
    # given: every thread holds a connection through the proxy
    on_all(holders, _timed_read)
    assert pg_proxy.links_open == THREADS

    # when: a partition that no request saw heals, and the far side reset the connections;
    # every thread then reads at once, each on its own dead connection
    pg_proxy.cut("stall")
    time.sleep(0.2)
    pg_proxy.restore()
    elapsed = on_all(holders, _timed_read)

    # then: each read succeeded on a new connection, and the one failure that counts opened
    # nothing (the others' connections were older than it)
    assert all(seconds < BUDGET for seconds in elapsed), elapsed
    assert database_breaker().is_closed
