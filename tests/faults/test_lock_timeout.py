"""A product row locked from outside (a stuck transaction): orders for it answer 503 once the
retry budget is spent, not 500 and not never; orders for other products go on meanwhile."""

import statistics
import threading
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from orderservice.common.alerts import DATABASE_UNAVAILABLE
from orderservice.inventory.models import Product
from tests.faults.traffic import UNAVAILABLE, Call, call, new_key, session_for
from tests.live import StockLedger, products_create, raw_connection, user_token

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(90)]

PRODUCTS = {"LOCKED": 100, "FREE": 100_000}  # FREE never runs out within the budget
BUDGET = 2.0
LOCK_TIMEOUT = 0.5


def _order(product_id: str) -> dict[str, object]:
    return {"products": [{"product_id": product_id, "item_count": 1}]}


def test_a_locked_product_answers_503_after_the_budget_and_others_keep_working(
    live_server_factory, webhook
):
    # given: a server with a short lock timeout, and the LOCKED row held by another transaction
    products_create(PRODUCTS)
    token = user_token("locker")
    server = live_server_factory(
        workers=3,
        env={
            "DB_RETRY_BUDGET_SECONDS": str(BUDGET),
            "DB_LOCK_TIMEOUT_SECONDS": str(LOCK_TIMEOUT),
            "ALERT_WEBHOOK_URL": webhook.url,
        },
    )
    holder = raw_connection()
    blocked: list[Call] = []
    free: list[Call] = []
    try:
        holder.execute("SELECT 1 FROM inventory_product WHERE product_id = 'LOCKED' FOR UPDATE")

        def order_locked() -> None:
            with session_for(token) as session:
                blocked.append(call(session, "POST", server.url, "/orders", json=_order("LOCKED")))

        # when: two orders wait on the lock while a third client orders the free product
        waiting = [threading.Thread(target=order_locked) for _ in range(2)]
        for thread in waiting:
            thread.start()
        with session_for(token) as session:
            deadline = time.monotonic() + BUDGET
            while time.monotonic() < deadline:
                free.append(
                    call(
                        session,
                        "POST",
                        server.url,
                        "/orders",
                        json=_order("FREE"),
                        headers={"Idempotency-Key": new_key()},
                    )  # fmt: skip
                )
        for thread in waiting:
            thread.join(timeout=BUDGET + 10)
    finally:
        holder.rollback()
        holder.close()

    # ... and once the lock is released
    with session_for(token) as session:
        after = call(session, "POST", server.url, "/orders", json=_order("LOCKED"))

    # then
    assert [c.status for c in blocked] == [503, 503]
    for reply in blocked:
        assert reply.body["error"] == UNAVAILABLE
        assert int(reply.headers["Retry-After"]) >= 1
        assert LOCK_TIMEOUT <= reply.elapsed <= BUDGET + 0.5, reply.elapsed
    assert free, "no order for the free product was tried"
    assert all(c.status == 200 for c in free), [c.status for c in free if c.status != 200]
    # never queued behind the locked row (the median: a loaded test machine may be slow at times)
    assert statistics.median(c.elapsed for c in free) < LOCK_TIMEOUT
    assert after.status == 200, after.body
    stock = dict(Product.objects.values_list("product_id", "product_count"))
    assert stock == {"LOCKED": 99, "FREE": PRODUCTS["FREE"] - len(free)}
    StockLedger(PRODUCTS).assert_holds()
    # SPEC §8: a lock wait past the limit is the database not answering: admins hear of it once
    # per process, and the next success in that process sends the recovery notice.
    assert webhook.received(DATABASE_UNAVAILABLE)
    assert all(count == 1 for count in webhook.by_pid(DATABASE_UNAVAILABLE).values())
    print(
        f"\n[lock] budget={BUDGET}s lock_timeout={LOCK_TIMEOUT}s "
        f"locked product: {[f'{c.status} in {c.elapsed:.2f}s' for c in blocked]}; "
        f"free product meanwhile: {len(free)} orders, all 200, "
        f"slowest {max(c.elapsed for c in free) * 1000:.0f} ms"
    )


def test_an_order_that_hits_the_lock_timeout_is_tried_again_and_placed(live_server_factory):
    # given: LOCKED held from outside for longer than the lock timeout, well within the budget
    products_create({"LOCKED": 100})
    token = user_token("patient")
    server = live_server_factory(
        workers=1,
        env={"DB_RETRY_BUDGET_SECONDS": "6", "DB_LOCK_TIMEOUT_SECONDS": str(LOCK_TIMEOUT)},
    )
    holder = raw_connection()
    holder.execute("SELECT 1 FROM inventory_product WHERE product_id = 'LOCKED' FOR UPDATE")
    released = threading.Timer(3 * LOCK_TIMEOUT, holder.rollback)
    released.start()
    try:
        # when: an order for it is sent (no Idempotency-Key: it is placed once or not at all)
        with session_for(token) as session:
            placed = call(session, "POST", server.url, "/orders", json=_order("LOCKED"))
    finally:
        released.join()
        holder.close()

    # then: the first attempt's lock timeout (55P03) was retried, and a later attempt placed it
    assert placed.status == 200, placed.body
    assert placed.elapsed >= 3 * LOCK_TIMEOUT, placed.elapsed
    assert Product.objects.get(product_id="LOCKED").product_count == 99
    StockLedger({"LOCKED": 100}).assert_holds()
    exposition = requests.get(f"{server.url}/metrics", timeout=10).text
    retries = sum(
        sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == "orders_db_retries_total"
    )
    assert retries >= 1, retries
