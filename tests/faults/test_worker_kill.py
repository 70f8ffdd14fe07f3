"""App server workers SIGKILLed while orders flow: no half-done order, no lost one.

A killed worker's open transaction dies with its connection, so PostgreSQL rolls it back. The
client of that request gets no answer; it retries with the same Idempotency-Key and gets either
the order that did commit (replayed) or a fresh one — never two. Afterwards every order a client
saw as 200 exists, the database holds no other, and SPEC §7.2 holds.
"""

import os
import random
import signal
import threading
import time

import pytest
import requests
from django.db import connection

from orderservice.orders.models import Order
from orderservice.orders.status import OrderStatus
from tests.faults.traffic import Call, Clients, call, new_key, order_ids_of, orders_without_items
from tests.live import DEFAULT_APP_SERVER, LiveServer, StockLedger, products_create, user_token

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.timeout(120),
    # granian 2.8.9 respawns a dead worker (--respawn-failed-workers), but when the worker it
    # last respawned dies again within 5.5 s it takes that for a crash loop and exits, server
    # and all (granian/server/common.py, _serve_loop; no setting changes it). Six kills in three
    # seconds among three workers at random mostly hit that (not always: not strict). The rule
    # alone is tested in test_server_stop.py.
    pytest.mark.xfail(
        DEFAULT_APP_SERVER == "granian",
        strict=False,
        reason="granian exits on a worker killed twice within 5.5 s (its crash-loop rule)",
    ),
]

PRODUCTS = {f"K{i}": 5_000 for i in range(4)}
WORKERS = 3
CLIENTS = 8
KILLS = 6
KILL_EVERY = 0.5


def test_killing_workers_mid_traffic_loses_and_duplicates_nothing(live_server_factory):
    # given
    products_create(PRODUCTS)
    usernames = [f"kill-{i}" for i in range(CLIENTS)]
    tokens = [user_token(name) for name in usernames]
    server = live_server_factory(workers=WORKERS)
    rngs = [random.Random(i) for i in range(CLIENTS)]
    lock = threading.Lock()
    unanswered: dict[str, tuple[int, dict[str, object]]] = {}  # key -> (client, body)
    placed: dict[str, str] = {}  # order_id -> key, from 200s
    cancelled: set[str] = set()  # order ids a DELETE was sent for
    cancels_confirmed: set[str] = set()  # ... and answered 200
    calls: list[Call] = []

    def step(index: int, session: requests.Session) -> None:
        rng = rngs[index]
        with lock:
            mine = [
                oid
                for oid, key in placed.items()
                if key.startswith(f"{index}-") and oid not in cancelled
            ]
        if mine and rng.random() < 0.25:
            order_id = rng.choice(mine)
            reply = call(session, "DELETE", server.url, f"/orders/{order_id}")
            with lock:
                cancelled.add(order_id)  # or its cancel went unanswered: not tried again
                if reply.status == 200:
                    cancels_confirmed.add(order_id)
        else:
            key = f"{index}-{new_key()}"
            lines = rng.sample(sorted(PRODUCTS), rng.randint(1, 2))
            body: dict[str, object] = {
                "products": [{"product_id": p, "item_count": rng.randint(1, 3)} for p in lines]
            }
            with lock:
                unanswered[key] = (index, body)
            reply = call(
                session, "POST", server.url, "/orders", json=body, headers={"Idempotency-Key": key}
            )
            if reply.status == 200:
                with lock:
                    unanswered.pop(key, None)
                    placed[reply.body["order_id"]] = key
        calls.append(reply)

    clients = Clients(tokens, step, max_seconds=60).start()
    killed: list[int] = []
    try:
        # when: a worker is killed every KILL_EVERY seconds, mid-request
        time.sleep(1.0)
        for _ in range(KILLS):
            pids = server.worker_pids()
            if pids:
                victim = random.choice(pids)
                os.kill(victim, signal.SIGKILL)
                killed.append(victim)
            time.sleep(KILL_EVERY)
        _wait_for_workers(server, WORKERS, timeout=20)
        time.sleep(1.0)  # traffic on the respawned workers
    finally:
        clients.stop()

    # ... and the clients retry what got no answer, with the same key
    retried = replayed = 0
    for key, (index, body) in list(unanswered.items()):
        with requests.Session() as session:
            session.headers["Authorization"] = f"Token {tokens[index]}"
            reply = call(
                session, "POST", server.url, "/orders", json=body, headers={"Idempotency-Key": key}
            )
        assert reply.status in (200, 404), reply  # 404: stock ran out meanwhile (not here)
        retried += 1
        replayed += reply.headers.get("Idempotent-Replayed") == "true"
        placed[reply.body["order_id"]] = key

    # then
    statuses = [c.status for c in calls]
    assert len(killed) == KILLS
    answered = {c.status for c in calls if c.status is not None}
    assert answered == {200}, sorted(set(statuses), key=str)
    orders = order_ids_of(usernames)
    assert orders == set(placed), "the database and the clients disagree about the orders"
    assert len(set(placed.values())) == len(placed), "a key made two orders"
    for order_id in cancels_confirmed:
        assert Order.objects.get(id=order_id).status == OrderStatus.CANCELLED
    assert not orders_without_items()
    StockLedger(PRODUCTS).assert_holds()
    with connection.cursor() as cursor:  # no transaction left open by a dead worker
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND state LIKE 'idle in transaction%%'"
        )
        assert cursor.fetchone() == (0,)
    print(
        f"\n[kill] workers={WORKERS} clients={CLIENTS} killed={len(killed)} calls={len(calls)} "
        f"unanswered={statuses.count(None)} retried={retried} "
        f"of which already stored (replayed)={replayed} orders={len(orders)} "
        f"cancelled={len(cancels_confirmed)}"
    )


def _wait_for_workers(server: LiveServer, count: int, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len(server.worker_pids()) < count:
        assert time.monotonic() < deadline, (
            f"{server.server} did not respawn its workers:\n{server.log_tail()}"
        )
        time.sleep(0.1)
