"""SPEC §8 under a real outage: uWSGI workers talk to PostgreSQL through a TCP proxy we cut.

While the link is cut every request answers 503 with Retry-After within the retry budget (none
hangs, none is a 500), /readyz is 503 and /healthz 200, and each worker raises exactly one
alert. Once restored, orders succeed again without a restart and each alerting worker sends
one recovery notice. Clients then retry their failed POSTs with the same Idempotency-Key, and
the database must hold exactly one order per key that got a 200, each with its stock taken
(SPEC §7.2), and no order without items.
"""

import random
import statistics
import threading
import time

import pytest
import requests

from orderservice.common.alerts import DATABASE_RECOVERED, DATABASE_UNAVAILABLE
from orderservice.idempotency.models import IdempotencyKey
from orderservice.orders.models import Order
from tests.faults.traffic import (
    UNAVAILABLE,
    Call,
    Clients,
    call,
    new_key,
    order_ids_of,
    orders_without_items,
    session_for,
)
from tests.faults.webhook import WebhookReceiver
from tests.live import StockLedger, products_create, user_token

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(150)]

PRODUCTS = {"A": 100_000, "B": 100_000, "C": 100_000}
WORKERS = 3
CLIENTS = 9
BUDGET = 3.0
COOLDOWN = 1.0
WARM_SECONDS = 1.5
CUT_SECONDS = 4.0
RECOVERY_LIMIT = COOLDOWN + 2.0  # restore -> orders placed again, every one


def _order_body(rng: random.Random) -> dict[str, object]:
    return {"products": [{"product_id": rng.choice(list(PRODUCTS)), "item_count": 1}]}


@pytest.mark.parametrize("mode", ["refuse", "blackhole"])
def test_outage_answers_503_alerts_once_and_recovers_by_itself(
    mode, live_server_factory, pg_proxy, proxied_database_url, webhook
):
    # given: a server whose only way to the database is the proxy, and clients placing orders
    products_create(PRODUCTS)
    usernames = [f"outage-{i}" for i in range(CLIENTS)]
    tokens = [user_token(name) for name in usernames]
    server = live_server_factory(
        workers=WORKERS,
        database_url=proxied_database_url,
        env={
            "DB_RETRY_BUDGET_SECONDS": str(BUDGET),
            "DB_BREAKER_COOLDOWN_SECONDS": str(COOLDOWN),
            "DB_BREAKER_FAILURES": "3",
            "ALERT_WEBHOOK_URL": webhook.url,
            "ALERT_INTERVAL_SECONDS": "600",
        },
    )
    workers = set(server.worker_pids())
    calls: list[Call] = []
    probes: list[Call] = []
    pending: dict[str, tuple[int, dict[str, object]]] = {}  # key -> (client, body), not yet 200
    lock = threading.Lock()
    rngs = [random.Random(i) for i in range(CLIENTS)]

    def step(index: int, session: requests.Session) -> None:
        rng = rngs[index]
        if rng.random() < 0.8:
            key, body = new_key(), _order_body(rng)
            with lock:
                pending[key] = (index, body)
            reply = call(
                session, "POST", server.url, "/orders", json=body, headers={"Idempotency-Key": key}
            )
            if reply.status == 200:
                with lock:
                    pending.pop(key, None)
        else:
            reply = call(session, "GET", server.url, "/orders?limit=5")
        calls.append(reply)
        time.sleep(0.2 if reply.status == 503 else 0.01)  # a client backs off a little on 503

    def monitor() -> None:
        with requests.Session() as session:
            while not stop_monitor.is_set():
                probes.append(call(session, "GET", server.url, "/readyz"))
                probes.append(call(session, "GET", server.url, "/healthz"))
                time.sleep(0.2)

    stop_monitor = threading.Event()
    monitor_thread = threading.Thread(target=monitor, daemon=True)
    clients = Clients(tokens, step, max_seconds=60).start()
    monitor_thread.start()
    try:
        # when: the link is cut, then restored
        time.sleep(WARM_SECONDS)
        cut_at = time.monotonic()
        pg_proxy.cut(mode)
        cut_done = time.monotonic()
        time.sleep(CUT_SECONDS)
        restore_at = time.monotonic()
        pg_proxy.restore()
        restore_done = time.monotonic()
        time.sleep(RECOVERY_LIMIT + 1.0)  # traffic after recovery, for the checks below
        alerted = _wait_for_recovery_notices(webhook, timeout=15)
    finally:
        stop_monitor.set()
        clients.stop()
        monitor_thread.join(timeout=40)

    # ... and each client retries its failed POSTs with the same key, as SPEC §2 invites
    retries = _retry_until_placed(server.url, tokens, pending)

    # then: during the cut, 503 within the budget for everything but /healthz
    started_in_cut = [c for c in calls if cut_done <= c.started < restore_at]
    slowest = max(c.elapsed for c in started_in_cut)
    assert slowest <= BUDGET + 0.5, f"a request took {slowest:.2f}s, budget {BUDGET}s"
    in_flight = [c for c in calls if c.started < cut_done and c.ended > cut_at]
    last_in_flight = max((c.ended - cut_at for c in in_flight), default=0.0)
    assert last_in_flight <= BUDGET + 0.5, f"a request in flight at the cut took {last_in_flight}"
    during = [c for c in started_in_cut if c.ended <= restore_at]
    assert during, "no request was answered during the cut"
    wrong = [c for c in during if c.status != 503]
    assert not wrong, f"not 503 during the cut: {[(c.path, c.status, c.error) for c in wrong][:5]}"
    for reply in during:
        assert reply.body["error"] == UNAVAILABLE
        assert int(reply.headers["Retry-After"]) >= 1
    assert all(c.status not in (500, None) for c in calls), "a 500 or a hang"
    ready_during = [p for p in probes if p.path == "/readyz" and cut_done <= p.started < restore_at]
    assert ready_during
    assert all(p.status == 503 for p in ready_during if p.ended <= restore_at)
    assert all(p.status == 200 for p in probes if p.path == "/healthz")

    # ... one alert per process that saw the outage, one recovery notice each
    down = webhook.by_pid(DATABASE_UNAVAILABLE)
    up = webhook.by_pid(DATABASE_RECOVERED)
    assert down, "no alert was raised"
    assert set(down) <= workers, (down, workers)
    assert all(count == 1 for count in down.values()), f"alerts per process: {down}"
    assert alerted, f"recovery notices {up}, alerts {down}"
    assert up == dict.fromkeys(down, 1), f"recovery notices {up}, alerts {down}"

    # ... orders succeed again without a restart
    placed_after = [
        c for c in calls if c.method == "POST" and c.started >= restore_done and c.status == 200
    ]
    assert placed_after, "no order placed after the restore"
    time_to_recovery = min(c.ended for c in placed_after) - restore_done
    assert time_to_recovery <= RECOVERY_LIMIT
    settled = [c for c in calls if c.started >= restore_done + RECOVERY_LIMIT]
    assert all(c.status == 200 for c in settled), [c.status for c in settled if c.status != 200]
    assert set(server.worker_pids()) == workers  # recovered by itself: no worker restarted

    # ... and the database holds exactly the orders the clients were told about
    keys_placed = IdempotencyKey.objects.filter(response_status=200).count()
    orders = order_ids_of(usernames)
    assert len(orders) == keys_placed == Order.objects.count()
    assert not orders_without_items()
    StockLedger(PRODUCTS).assert_holds()

    first_503 = min((c.ended for c in calls if c.status == 503), default=float("nan")) - cut_at
    first_alert = min(r.at for r in webhook.received(DATABASE_UNAVAILABLE)) - cut_at
    print(
        f"\n[outage/{mode}] workers={WORKERS} clients={CLIENTS} budget={BUDGET}s "
        f"calls={len(calls)} during_cut={len(during)} (all 503) "
        f"time_to_first_503={first_503:.3f}s in_flight_at_cut_answered_by={last_in_flight:.3f}s "
        f"latency_during_cut median={statistics.median(c.elapsed for c in during):.3f}s "
        f"max={slowest:.3f}s first_alert={first_alert:.3f}s "
        f"time_to_recovery={time_to_recovery:.3f}s "
        f"alerts={down} recovered={up} retried_posts={retries['retried']} "
        f"found_stored_on_retry={retries['replayed']} orders={len(orders)}"
    )


def _wait_for_recovery_notices(webhook: WebhookReceiver, *, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        down = webhook.by_pid(DATABASE_UNAVAILABLE)
        up = webhook.by_pid(DATABASE_RECOVERED)
        if down and set(up) >= set(down):
            return True
        time.sleep(0.1)
    return False


def _retry_until_placed(
    url: str, tokens: list[str], pending: dict[str, tuple[int, dict[str, object]]]
) -> dict[str, int]:
    """Each client, in its own thread, retries its keys until placed; counts the replays."""
    replayed: list[bool] = []

    def retry(index: int) -> None:
        with session_for(tokens[index]) as session:
            for key, (owner, body) in list(pending.items()):
                if owner != index:
                    continue
                for _ in range(20):
                    reply = call(
                        session, "POST", url, "/orders", json=body,
                        headers={"Idempotency-Key": key},
                    )  # fmt: skip
                    if reply.status == 200:
                        replayed.append(reply.headers.get("Idempotent-Replayed") == "true")
                        break
                    time.sleep(0.2)

    threads = [threading.Thread(target=retry, args=(i,)) for i in range(len(tokens))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(replayed) == len(pending), "a failed POST never got placed on retry"
    return {"retried": len(pending), "replayed": sum(replayed)}
