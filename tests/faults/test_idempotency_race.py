"""One Idempotency-Key sent 20 times at once, to several uWSGI worker processes: exactly one
order, stock taken once, and every answer the same bytes (SPEC §2)."""

from collections.abc import Callable

import pytest
import requests

from orderservice.inventory.models import Product
from orderservice.orders.models import Order
from tests.faults.traffic import Call, call, session_for
from tests.live import products_create, run_concurrently, user_token

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(90)]

SENDERS = 20
ROUNDS = 3
ORDER = {"products": [{"product_id": "RACE", "item_count": 3}]}


def test_twenty_requests_with_one_key_make_one_order(live_server_factory):
    # given
    products_create({"RACE": 1_000})
    token = user_token("racer")
    server = live_server_factory(workers=4)

    def sender(session: requests.Session, key: str) -> Callable[[], Call]:
        return lambda: call(
            session, "POST", server.url, "/orders", json=ORDER, headers={"Idempotency-Key": key}
        )

    for round_number in range(ROUNDS):
        sessions = [session_for(token) for _ in range(SENDERS)]
        try:
            # when
            outcomes = run_concurrently(
                [sender(session, f"race-{round_number}") for session in sessions], timeout=60
            )
        finally:
            for session in sessions:
                session.close()

        # then
        assert all(o.error is None for o in outcomes), [o.error for o in outcomes if o.error]
        replies: list[Call] = [o.value for o in outcomes]
        assert [r.status for r in replies] == [200] * SENDERS, [r.status for r in replies]
        first = [r for r in replies if r.headers.get("Idempotent-Replayed") != "true"]
        assert len(first) == 1, "not exactly one request did the work"
        assert {r.content for r in replies} == {first[0].content}  # the same bytes
        assert {r.headers["Location"] for r in replies} == {first[0].headers["Location"]}
    assert Order.objects.count() == ROUNDS
    assert Product.objects.get(product_id="RACE").product_count == 1_000 - 3 * ROUNDS
