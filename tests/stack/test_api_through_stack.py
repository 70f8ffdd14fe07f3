"""The HTTP API through the production stack: nginx -> 2 app servers (2 sync workers each) ->
PgBouncer (transaction mode) -> a TCP proxy -> PostgreSQL, the test database.

The proxy stands where the network between the pooler and the database is: cutting it is the
database going away while nginx, the app servers and PgBouncer keep running, which is the outage
a shop sees (PgBouncer's own PAUSE/KILL are an operator's tools, not a failure). The stack runs
with short database timeouts of its own (below), so each bound is checked in seconds.
"""

import asyncio
import functools
import random
import statistics
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
import requests
from django.conf import settings

from orderservice.inventory.models import Product
from orderservice.orders.models import Order
from tests.faults.proxy import TcpProxy, running_proxy
from tests.faults.traffic import UNAVAILABLE, Call, call, session_for
from tests.live import (
    StockLedger,
    current_database_url,
    products_create,
    run_concurrently,
    user_token,
)
from tests.stack.conftest import Stack, running_stack

pytestmark = pytest.mark.postgres

# The app servers' database settings (passed to the stack; this process keeps its own).
BUDGET = 3.0  # DB_RETRY_BUDGET_SECONDS
LOCK_TIMEOUT = 1.0  # DB_LOCK_TIMEOUT_SECONDS
STATEMENT_TIMEOUT = 2.5  # DB_STATEMENT_TIMEOUT_SECONDS
COOLDOWN = 1.0  # DB_BREAKER_COOLDOWN_SECONDS
# A 503 may come this long after the budget: the last attempt, the answer's way back, a busy CPU.
LATE = 1.5


@pytest.fixture(scope="module")
def pg_link(django_db_setup: None) -> Iterator[TcpProxy]:
    """The network between PgBouncer and PostgreSQL, which a test can cut."""
    conf = settings.DATABASES["default"]
    with running_proxy(conf["HOST"] or "127.0.0.1", int(conf["PORT"] or 5432)) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def stack(pg_link: TcpProxy) -> Iterator[Stack]:
    conf = settings.DATABASES["default"]
    direct = current_database_url()
    host_port = f"{conf['HOST'] or '127.0.0.1'}:{conf['PORT'] or 5432}"
    assert host_port in direct, direct
    overrides = {
        "DATABASE_URL": direct.replace(host_port, f"127.0.0.1:{pg_link.port}"),
        "DB_RETRY_BUDGET_SECONDS": str(BUDGET),
        "DB_LOCK_TIMEOUT_SECONDS": str(LOCK_TIMEOUT),
        "DB_STATEMENT_TIMEOUT_SECONDS": str(STATEMENT_TIMEOUT),
        "DB_BREAKER_COOLDOWN_SECONDS": str(COOLDOWN),
    }
    with running_stack(apps=2, workers=2, overrides=overrides) as running:
        yield running


def direct_connection(**options: Any) -> psycopg.Connection:
    """A connection of this test's own to PostgreSQL itself (not through the proxy)."""
    conf = settings.DATABASES["default"]
    return psycopg.connect(
        host=conf["HOST"] or "127.0.0.1",
        port=int(conf["PORT"] or 5432),
        user=conf["USER"] or "postgres",
        password=conf["PASSWORD"] or None,
        dbname=conf["NAME"],
        connect_timeout=5,
        **options,
    )


def pooled_connection(stack: Stack, **options: Any) -> psycopg.Connection:
    """A client connection to the stack's PgBouncer, as an app worker has."""
    conf = settings.DATABASES["default"]
    return psycopg.connect(
        host="127.0.0.1",
        port=stack.pgbouncer_port,
        user=conf["USER"] or "postgres",
        password=conf["PASSWORD"] or None,
        dbname=conf["NAME"],
        connect_timeout=5,
        **options,
    )


def order(*lines: tuple[str, int], fulfillment: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "products": [{"product_id": product, "item_count": count} for product, count in lines]
    }
    if fulfillment:
        body["fulfillment"] = fulfillment
    return body


def lines_of(body: dict[str, Any]) -> list[tuple[str, int]]:
    return [(line["product_id"], line["item_count"]) for line in body["products"]]


def stock_of(product_id: str) -> int:
    return Product.objects.get(product_id=product_id).product_count


# --- the API, one request after another ------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_place_partial_edit_cancel_through_the_stack(stack):
    products_create({"A": 5, "B": 1, "C": 3})
    client = session_for(user_token("alice"))
    url = stack.url

    partial = client.post(f"{url}/orders", json=order(("A", 2), ("B", 3)), timeout=10)
    order_id = partial.json()["order_id"]
    etag = partial.headers["ETag"]
    edited = client.patch(
        f"{url}/orders/{order_id}",
        json=order(("A", 4), ("C", 1)),
        headers={"If-Match": etag},
        timeout=10,
    )
    stale = client.patch(
        f"{url}/orders/{order_id}", json=order(("A", 1)), headers={"If-Match": etag}, timeout=10
    )
    short = client.patch(f"{url}/orders/{order_id}", json=order(("C", 9)), timeout=10)
    viewed = client.get(f"{url}/orders/{order_id}", timeout=10)
    stock_while_placed = {product: stock_of(product) for product in "ABC"}
    cancelled = client.delete(f"{url}/orders/{order_id}", timeout=10)
    again = client.delete(f"{url}/orders/{order_id}", timeout=10)
    none_left = client.post(f"{url}/orders", json=order(("B", 2)), timeout=10)

    assert partial.status_code == 200, partial.text
    assert lines_of(partial.json()) == [("A", 2)]
    assert partial.json()["out_of_stock"] == [{"product_id": "B", "requested": 3, "available": 1}]
    assert partial.headers["Location"] == f"/orders/{order_id}"
    assert edited.status_code == 200, edited.text
    assert edited.json()["changes"] == [
        {"product_id": "A", "from": 2, "to": 4},
        {"product_id": "C", "from": 0, "to": 1},
    ]
    assert stale.status_code == 412
    assert short.status_code == 404
    assert short.json()["details"] == {
        "out_of_stock": [{"product_id": "C", "requested": 8, "available": 2}]
    }
    assert lines_of(viewed.json()) == [("A", 4), ("C", 1)]
    assert stock_while_placed == {"A": 1, "B": 1, "C": 2}
    assert cancelled.status_code == 200
    assert again.status_code == 409
    assert none_left.status_code == 404
    assert none_left.json()["error"] == "Product out of stock."
    assert {product: stock_of(product) for product in "ABC"} == {"A": 5, "B": 1, "C": 3}
    StockLedger({"A": 5, "B": 1, "C": 3}).assert_holds()


@pytest.mark.django_db(transaction=True)
def test_idempotency_key_replays_through_the_stack_and_refuses_another_body(stack):
    products_create({"A": 10})
    client = session_for(user_token("alice"))
    key = {"Idempotency-Key": f"stack-{uuid.uuid4().hex}"}

    first = client.post(f"{stack.url}/orders", json=order(("A", 2)), headers=key, timeout=10)
    replayed = client.post(f"{stack.url}/orders", json=order(("A", 2)), headers=key, timeout=10)
    other = client.post(f"{stack.url}/orders", json=order(("A", 3)), headers=key, timeout=10)

    assert first.status_code == 200, first.text
    assert (replayed.status_code, replayed.json()) == (200, first.json())
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert other.status_code == 422
    assert other.json()["error"] == "Idempotency key reused with a different request."
    assert Order.objects.count() == 1
    assert stock_of("A") == 8


# --- many at once ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_forty_clients_race_for_the_last_ten_units_and_exactly_ten_are_sold(stack):
    products_create({"LAST": 10, "PLENTY": 1000})
    tokens = [user_token(f"racer-{index}") for index in range(40)]

    def buy(token: str) -> requests.Response:
        with session_for(token) as client:
            # One line the stock may not fill, one it always can: a partial order either way.
            return client.post(
                f"{stack.url}/orders", json=order(("LAST", 1), ("PLENTY", 1)), timeout=30
            )

    outcomes = run_concurrently([functools.partial(buy, token) for token in tokens])

    answers = [outcome.value for outcome in outcomes]
    assert [outcome.error for outcome in outcomes] == [None] * 40
    assert {answer.status_code for answer in answers} == {200}, [a.text for a in answers]
    got_last = [a for a in answers if not a.json()["out_of_stock"]]
    assert len(got_last) == 10
    for answer in answers:
        if answer not in got_last:
            assert answer.json()["out_of_stock"] == [
                {"product_id": "LAST", "requested": 1, "available": 0}
            ]
    assert stock_of("LAST") == 0
    assert stock_of("PLENTY") == 960
    StockLedger({"LAST": 10, "PLENTY": 1000}).assert_holds()


# --- the database's timeouts through the pooler ------------------------------------------------


def test_a_statement_through_pgbouncer_is_cut_at_statement_timeout(stack):
    with pooled_connection(stack, autocommit=True) as pooled:
        start = time.monotonic()
        with pytest.raises(psycopg.errors.QueryCanceled):
            pooled.execute("SELECT pg_sleep(30)")
        waited = time.monotonic() - start

    assert waited == pytest.approx(STATEMENT_TIMEOUT, abs=1.0)


def test_pgbouncer_refuses_a_client_that_sends_startup_options(stack):
    # So no app server that works sends `options` (DB_POOLER=pgbouncer): none runs with
    # settings PgBouncer would have dropped.
    with pytest.raises(psycopg.OperationalError, match="unsupported startup parameter: options"):
        pooled_connection(stack, options="-c statement_timeout=0").close()


@dataclass
class LockWaits:
    """Every statement seen waiting on a lock in the test database: (pid, start) -> last seen."""

    seen: dict[tuple[int, float], float] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)

    def watch(self, holder_pid: int) -> None:
        with direct_connection(autocommit=True) as watcher:
            while not self.stop.is_set():
                rows = watcher.execute(
                    "SELECT pid, extract(epoch FROM query_start)::float8,"
                    " extract(epoch FROM clock_timestamp())::float8 FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    " AND pid <> %s",
                    (holder_pid,),
                ).fetchall()
                for pid, started, now in rows:
                    self.seen[(pid, started)] = now - started
                time.sleep(0.02)

    def durations(self) -> list[float]:
        return list(self.seen.values())


@pytest.mark.django_db(transaction=True)
def test_an_order_waiting_on_a_locked_product_is_cut_at_lock_timeout_and_answered_503(stack):
    products_create({"HELD": 10})
    client = session_for(user_token("alice"))
    waits = LockWaits()
    with direct_connection() as holder:
        holder.execute("SELECT 1 FROM inventory_product WHERE product_id = 'HELD' FOR UPDATE")
        watcher = threading.Thread(target=waits.watch, args=(holder.info.backend_pid,))
        watcher.start()
        try:
            answer = call(client, "POST", stack.url, "/orders", json=order(("HELD", 1)))
        finally:
            waits.stop.set()
            watcher.join(10)
        holder.rollback()

    assert answer.status == 503, answer.body
    assert answer.body["error"] == UNAVAILABLE
    assert int(answer.headers["Retry-After"]) >= 1
    assert answer.elapsed <= BUDGET + LATE
    # The app's statement waited lock_timeout, was cut, retried, and cut again: never longer.
    durations = waits.durations()
    assert len(durations) >= 2, waits.seen
    assert max(durations) <= LOCK_TIMEOUT + 0.5, durations
    assert statistics.median(durations) >= LOCK_TIMEOUT - 0.3, durations
    assert stock_of("HELD") == 10
    assert Order.objects.count() == 0


# --- the database goes away ------------------------------------------------------------------


@dataclass
class Client:
    """Places an order (with an Idempotency-Key), then reads it, again and again."""

    session: requests.Session
    url: str
    rng: random.Random
    calls: list[Call] = field(default_factory=list)
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> the body sent

    def run(self, until: float) -> None:
        last_order: str | None = None
        while time.monotonic() < until:
            key = uuid.uuid4().hex
            body = order((self.rng.choice("XYZ"), 1))
            self.keys[key] = body
            placed = call(
                self.session,
                "POST",
                self.url,
                "/orders",
                json=body,
                headers={"Idempotency-Key": key},
            )
            self.calls.append(placed)
            if placed.status == 200:
                last_order = placed.body["order_id"]
            if last_order:
                self.calls.append(call(self.session, "GET", self.url, f"/orders/{last_order}"))
            time.sleep(0.05)


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(120)
def test_database_outage_answers_503_within_the_budget_and_recovers_by_itself(stack, pg_link):
    products_create({"X": 100_000, "Y": 100_000, "Z": 100_000})
    clients = [
        Client(session_for(user_token(f"outage-{index}")), stack.url, random.Random(index))
        for index in range(4)
    ]
    probes: list[tuple[Call, Call]] = []  # (/readyz, /healthz) while cut
    warm, cut_for, after = 1.5, 4.0, 7.0
    start = time.monotonic()
    end = start + warm + cut_for + after
    threads = [threading.Thread(target=c.run, args=(end,), daemon=True) for c in clients]
    for thread in threads:
        thread.start()

    time.sleep(warm)
    pg_link.cut("refuse")
    cut_at = time.monotonic()
    while time.monotonic() < cut_at + cut_for:
        ready = call(requests.Session(), "GET", stack.url, "/readyz")
        health = call(requests.Session(), "GET", stack.url, "/healthz")
        probes.append((ready, health))
        time.sleep(0.3)
    pg_link.restore()
    restored_at = time.monotonic()
    for thread in threads:
        thread.join(end - time.monotonic() + 60)

    calls = [c for client in clients for c in client.calls]
    statuses = {c.status for c in calls}
    assert statuses <= {200, 503}, [(c.method, c.status, c.body, c.error) for c in calls]
    unavailable = [c for c in calls if c.status == 503]
    assert unavailable, "the cut was not noticed"
    for answer in unavailable:
        assert answer.body["error"] == UNAVAILABLE
        assert int(answer.headers["Retry-After"]) >= 1
        assert answer.headers["Content-Type"] == "application/json"
        assert "X-Request-ID" in answer.headers  # the app's 503, not nginx's
    assert max(c.elapsed for c in calls) <= BUDGET + LATE, sorted(c.elapsed for c in calls)[-5:]
    # While cut, nothing reaches the database; readiness says so, liveness does not.
    during = [c for c in calls if cut_at + 0.5 < c.started and c.ended < restored_at]
    assert during
    assert {c.status for c in during} == {503}
    assert {ready.status for ready, _ in probes if ready.started > cut_at + 0.5} == {503}
    assert max(ready.elapsed for ready, _ in probes) <= BUDGET + LATE
    assert {health.status for _, health in probes} == {200}
    # Back by itself: every request a while after the restore succeeds.
    recovered = [c for c in calls if c.started > restored_at + COOLDOWN + 3.0]
    assert recovered
    assert {c.status for c in recovered} == {200}, [(c.method, c.body) for c in recovered]

    # The clients retry every POST that failed, with its key: one order per key, stock taken.
    for client in clients:
        for key, body in client.keys.items():
            retried = call(
                client.session,
                "POST",
                stack.url,
                "/orders",
                json=body,
                headers={"Idempotency-Key": key},
            )
            assert retried.status == 200, retried.body
    placed_keys = sum(len(client.keys) for client in clients)
    assert Order.objects.count() == placed_keys
    StockLedger({"X": 100_000, "Y": 100_000, "Z": 100_000}).assert_holds()


# --- slow clients ------------------------------------------------------------------------------

SLOW_CLIENTS = 200
SLOW_SECONDS = 20.0
CLIENT_HEADER_TIMEOUT = 10.0  # nginx's client_header_timeout (deploy/nginx.conf.in)


@dataclass
class Trickle:
    """What the slow clients saw: each connection's life, and anything nginx answered."""

    opened: int = 0
    lifetimes_cut: list[float] = field(default_factory=list)  # closed by nginx
    answers: list[bytes] = field(default_factory=list)


async def _trickle_one(port: int, until: float, seen: Trickle) -> None:
    """One slot: a connection sending its headers a byte at a time and never finishing them;
    when nginx drops it, another one, until `until`."""
    while time.monotonic() < until:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.2)
            continue
        seen.opened += 1
        opened = time.monotonic()
        closed = asyncio.ensure_future(reader.read(4096))
        header = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 64
        try:
            for byte in header * 20:
                if closed.done() or time.monotonic() >= until:
                    break
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0.25)
            if closed.done():
                data = closed.result()
                seen.lifetimes_cut.append(time.monotonic() - opened)
                if data:
                    seen.answers.append(data)
        except (ConnectionError, OSError):
            seen.lifetimes_cut.append(time.monotonic() - opened)
        finally:
            closed.cancel()
            writer.transport.abort()


def trickle(port: int, until: float) -> Trickle:
    seen = Trickle()

    async def all_slots() -> None:
        await asyncio.gather(*(_trickle_one(port, until, seen) for _ in range(SLOW_CLIENTS)))

    asyncio.run(all_slots())
    return seen


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(120)
def test_200_slow_clients_for_20_s_leave_other_clients_fast(stack):
    products_create({"P": 1_000_000})
    tokens = [user_token(f"busy-{index}") for index in range(4)]
    port = int(stack.url.rpartition(":")[2])
    until = time.monotonic() + SLOW_SECONDS
    slow: list[Trickle] = []
    attacker = threading.Thread(target=lambda: slow.append(trickle(port, until)), daemon=True)
    attacker.start()
    time.sleep(1.0)  # the 200 connections are open

    def busy(token: str) -> list[Call]:
        calls = []
        with session_for(token) as client:
            while time.monotonic() < until:
                calls.append(call(client, "POST", stack.url, "/orders", json=order(("P", 1))))
                calls.append(call(client, "GET", stack.url, "/products/P"))
        return calls

    outcomes = run_concurrently([functools.partial(busy, token) for token in tokens], timeout=90)
    attacker.join(SLOW_SECONDS + 30)

    calls = [c for outcome in outcomes for c in outcome.value]
    assert [outcome.error for outcome in outcomes] == [None] * len(tokens)
    assert {c.status for c in calls} == {200}, {(c.status, c.error) for c in calls}
    latencies = sorted(c.elapsed for c in calls)
    p99 = latencies[max(0, round(0.99 * len(latencies)) - 1)]
    assert p99 < 1.0, (p99, latencies[-10:])
    assert len(calls) > 50  # the other clients really were served throughout
    (seen,) = slow
    assert seen.opened >= SLOW_CLIENTS
    assert seen.answers == []  # nginx drops them without an answer (and never a 5xx)
    # nginx, not the clients, ended them, once client_header_timeout had passed.
    assert seen.lifetimes_cut
    assert max(seen.lifetimes_cut) <= CLIENT_HEADER_TIMEOUT + 3.0
    assert min(seen.lifetimes_cut) >= CLIENT_HEADER_TIMEOUT - 1.0
