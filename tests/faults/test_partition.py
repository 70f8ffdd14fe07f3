"""SPEC §8 under a silent partition: the database's connections stay open but nothing answers.

uWSGI workers talk to PostgreSQL through a TCP proxy that stalls every open connection. No
error ever comes back (TCP keepalives are still acknowledged), so only the service's own clock
can end a request: each answers 503 with Retry-After within the retry budget, none hangs, none
is a 500, and nothing half-done is stored. Once the partition heals, every worker's pooled
connection is dead; the first request after the heal succeeds, and so does every request after
it, on every worker, reads and writes alike (no worker answers 503 once on its dead connection),
also with several threads per worker, each with a dead connection of its own (no worker's
breaker counts those together as an outage).
"""

import time
from collections.abc import Callable
from typing import Any

import pytest

from orderservice.orders.models import Order
from tests.faults.proxy import TcpProxy
from tests.faults.traffic import UNAVAILABLE, Call, call, new_key, orders_without_items, session_for
from tests.live import LiveServer, StockLedger, products_create, run_concurrently, user_token

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(120)]

PRODUCTS = {"P": 100_000}
ORDER = {"products": [{"product_id": "P", "item_count": 1}]}
WORKERS = 3
BUDGET = 2.0
ENV = {
    "DB_RETRY_BUDGET_SECONDS": str(BUDGET),
    "DB_BREAKER_COOLDOWN_SECONDS": "1",
    # The warm-up caches the token in every worker: a POST's first statement is then the order's.
    "TOKEN_CACHE_SECONDS": "600",
}


def _request(token: str, method: str, url: str, path: str, **kwargs: Any) -> Callable[[], Call]:
    def send() -> Call:
        with session_for(token) as session:
            return call(session, method, url, path, **kwargs)

    return send


def _all(requests: list[Callable[[], Call]]) -> list[Call]:
    """The requests sent together, each from its own thread; their answers in order."""
    outcomes = run_concurrently(requests, timeout=60)
    errors = [outcome.error for outcome in outcomes if outcome.error is not None]
    assert not errors, errors
    return [outcome.value for outcome in outcomes]


def _every_worker_connected(server: LiveServer, proxy: TcpProxy, token: str) -> None:
    """Concurrent reads until the proxy pipes one connection per worker: each worker then holds
    a pooled connection, and has the token cached."""
    deadline = time.monotonic() + 30
    while proxy.links_open < WORKERS:
        assert time.monotonic() < deadline, f"{proxy.links_open} of {WORKERS} workers connected"
        replies = _all([_request(token, "GET", server.url, "/orders")] * (2 * WORKERS))
        assert all(reply.status == 200 for reply in replies), [r.status for r in replies]


def test_a_stalled_connection_answers_503_within_the_budget(
    live_server_factory, pg_proxy, proxied_database_url
):
    # given: every worker holds a connection through the proxy
    products_create(PRODUCTS)
    token = user_token("partition")
    server = live_server_factory(workers=WORKERS, database_url=proxied_database_url, env=ENV)
    _every_worker_connected(server, pg_proxy, token)
    key = new_key()

    # when: the link stalls under the open connections, and a probe, a read and a write arrive
    pg_proxy.cut("stall")
    try:
        replies = _all(
            [
                _request(token, "GET", server.url, "/readyz"),
                _request(token, "GET", server.url, "/orders"),
                _request(
                    token,
                    "POST",
                    server.url,
                    "/orders",
                    json=ORDER,
                    headers={"Idempotency-Key": key},
                ),
            ]
        )
    finally:
        pg_proxy.restore()

    # then: each is 503 with Retry-After within the budget; none hangs, none is a 500
    seen = [(r.method, r.path, r.status, r.error, f"{r.elapsed:.2f}s") for r in replies]
    assert [reply.status for reply in replies] == [503, 503, 503], seen
    assert all(reply.elapsed <= BUDGET + 1.0 for reply in replies), seen
    for reply in replies:
        assert reply.body["error"] == UNAVAILABLE
        assert int(reply.headers["Retry-After"]) >= 1

    # ... and once the link is back, the POST retried with its key stores exactly one order
    with session_for(token) as session:
        deadline = time.monotonic() + 20
        while True:
            retry = call(
                session, "POST", server.url, "/orders", json=ORDER, headers={"Idempotency-Key": key}
            )
            if retry.status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    assert retry.status == 200, (retry.status, retry.body)
    assert Order.objects.filter(user__username="partition").count() == 1
    assert not orders_without_items()
    StockLedger(PRODUCTS).assert_holds()
    print(
        "\n[partition] stalled: "
        + ", ".join(f"{r.method} {r.path} {r.status} in {r.elapsed:.2f}s" for r in replies)
    )


# None: the app server's default (one thread per uWSGI worker); 4: 4 threads per uWSGI worker,
# or granian's blocking threads, 4 per worker.
@pytest.mark.parametrize("threads", [None, 4], ids=["default-threads", "4-threads"])
def test_after_the_partition_heals_no_worker_answers_503(
    live_server_factory, pg_proxy, proxied_database_url, threads
):
    # given: every worker holds a connection through the proxy, and an order to read back
    products_create(PRODUCTS)
    token = user_token("healed")
    server = live_server_factory(
        workers=WORKERS, threads=threads, database_url=proxied_database_url, env=ENV
    )
    _every_worker_connected(server, pg_proxy, token)
    placed = _request(token, "POST", server.url, "/orders", json=ORDER)()
    assert placed.status == 200, placed.body
    order_path = f"/orders/{placed.body['order_id']}"
    other_token = user_token("healed-too")  # in no worker's cache: its lookup is a read too

    # when: the link stalls with no traffic, then heals: every pooled connection is dead now
    pg_proxy.cut("stall")
    time.sleep(0.5)
    pg_proxy.restore()
    accepted = pg_proxy.connections_accepted

    # then: the first request succeeds: an order with no Idempotency-Key, which may not be retried
    first = _request(token, "POST", server.url, "/orders", json=ORDER)()
    assert first.status == 200, (first.status, first.body)

    # ... and so does every request after it, on every worker: reads first, then reads and writes
    reads = [
        _request(token, "GET", server.url, "/orders"),
        _request(token, "GET", server.url, "/products/P"),
        _request(token, "GET", server.url, order_path),
        _request(other_token, "GET", server.url, "/orders"),
    ] * 3
    mixed = [
        request
        for _ in range(3)
        for request in (
            _request(token, "POST", server.url, "/orders", json=ORDER),
            _request(
                token,
                "POST",
                server.url,
                "/orders",
                json=ORDER,
                headers={"Idempotency-Key": new_key()},
            ),
            _request(other_token, "GET", server.url, "/products"),
            _request(token, "GET", server.url, order_path),
        )
    ]
    replies = _all(reads) + _all(mixed)
    wrong = [(r.method, r.path, r.status, r.body) for r in replies if r.status != 200]
    assert not wrong, wrong
    # every worker found its connection dead and opened a new one: the burst reached them all
    assert pg_proxy.connections_accepted - accepted >= WORKERS
    assert not orders_without_items()
    StockLedger(PRODUCTS).assert_holds()
