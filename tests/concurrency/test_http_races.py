"""SPEC §7 over HTTP: parallel clients against the app server with several worker processes."""

from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from functools import partial

import pytest

from orderservice.inventory.models import Product
from orderservice.orders.models import Order
from orderservice.orders.status import OrderStatus
from tests.concurrency.clients import Reply, call, fan_out
from tests.live import LiveServer, StockLedger, products_create, user_token

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(120)]

OUT_OF_STOCK = "Product out of stock."
ALREADY_CANCELLED = "Order is already cancelled."
PRECONDITION_FAILED = "Order was modified by another request. Fetch it again and retry."


def test_200_concurrent_orders_for_50_units_place_exactly_50(shared_live_server_url: str) -> None:
    _200_orders_for_50_units(shared_live_server_url)  # 4 sync worker processes


def test_200_concurrent_orders_on_threaded_workers(
    live_server_factory: Callable[..., LiveServer],
) -> None:
    # 2 processes x 4 threads: each thread has its own database connection inside a worker.
    _200_orders_for_50_units(live_server_factory(workers=2, threads=4).url)


def _200_orders_for_50_units(base_url: str) -> None:
    # given
    products_create({"HOT": 50}, {"HOT": Decimal("0.10")})
    ledger = StockLedger({"HOT": 50})
    tokens = [user_token(f"buyer{i}") for i in range(20)]
    jobs: list[Callable[[], Reply]] = [
        partial(
            call,
            "POST",
            f"{base_url}/orders",
            token=tokens[i % len(tokens)],
            json={
                "products": [{"product_id": "HOT", "item_count": 1}],
                "fulfillment": "partial" if i % 2 else "all_or_nothing",
            },
        )
        for i in range(200)
    ]

    # when
    replies = fan_out(jobs, threads=40)

    # then
    assert Counter(r.status for r in replies) == {200: 50, 404: 150}
    refused = [r for r in replies if r.status == 404]
    assert {r.error for r in refused} == {OUT_OF_STOCK}
    assert all(
        r.body["details"]
        == {"out_of_stock": [{"product_id": "HOT", "requested": 1, "available": 0}]}
        for r in refused
    )
    placed = [r for r in replies if r.status == 200]
    assert all(
        r.body["products"]
        == [
            {
                "product_id": "HOT",
                "product_count": 1,
                "item_count": 1,
                "unit_price": "0.10",
                "line_total": "0.10",
            }
        ]
        and r.body["total"] == "0.10"
        and r.body["out_of_stock"] == []
        for r in placed
    )
    placed_ids = {r.body["order_id"] for r in placed}
    assert len(placed_ids) == 50
    assert set(Order.objects.values_list("id", flat=True)) == placed_ids
    hot = Product.objects.get(product_id="HOT")
    assert (hot.product_count, hot.unfilled_units) == (0, 150)  # each refusal counted once
    ledger.assert_holds()


def _place(url: str, token: str) -> str:
    reply = call(
        "POST",
        f"{url}/orders",
        token=token,
        json={
            "products": [{"product_id": "A", "item_count": 2}, {"product_id": "B", "item_count": 1}]
        },
    )
    assert reply.status == 200, reply
    return str(reply.body["order_id"])


def _stock() -> dict[str, int]:
    return dict(Product.objects.values_list("product_id", "product_count"))


@pytest.mark.parametrize(
    ("rounds", "second", "loser"),
    [
        pytest.param(20, "delete", (409, ALREADY_CANCELLED), id="delete-vs-delete"),
        pytest.param(8, "staff-cancel", (409, ALREADY_CANCELLED), id="delete-vs-staff-cancel"),
        pytest.param(6, "delete-if-match", (412, PRECONDITION_FAILED), id="if-match-vs-if-match"),
    ],
)
def test_racing_cancels_of_one_order_return_its_stock_once(
    shared_live_server_url: str, rounds: int, second: str, loser: tuple[int, str]
) -> None:
    # given: `rounds` orders, each holding 2 x A and 1 x B
    products_create({"A": 100, "B": 100})
    ledger = StockLedger({"A": 100, "B": 100})
    owner = user_token("owner")
    staff = user_token("staff", staff=True)
    order_ids = [_place(shared_live_server_url, owner) for _ in range(rounds)]
    assert _stock() == {"A": 100 - 2 * rounds, "B": 100 - rounds}

    for done, order_id in enumerate(order_ids, start=1):
        url = f"{shared_live_server_url}/orders/{order_id}"
        delete = partial(call, "DELETE", url, token=owner)
        racer = {
            "delete": delete,
            "staff-cancel": partial(
                call, "PATCH", url, token=staff, json={"order_status": "cancelled"}
            ),
            "delete-if-match": partial(
                call, "DELETE", url, token=owner, headers={"If-Match": '"1"'}
            ),
        }[second]
        first = racer if second == "delete-if-match" else delete

        # when: two cancels of the same order at once
        replies = fan_out([first, racer], threads=2)

        # then: one wins, the other is refused, and the stock came back exactly once
        statuses = sorted(r.status for r in replies)
        assert statuses == sorted([200, loser[0]]), (order_id, replies)
        assert [r.error for r in replies if r.status != 200] == [loser[1]], replies
        assert Order.objects.get(id=order_id).status == OrderStatus.CANCELLED
        assert _stock() == {"A": 100 - 2 * (rounds - done), "B": 100 - (rounds - done)}

    assert Order.objects.filter(status=OrderStatus.CANCELLED).count() == rounds
    assert Order.objects.filter(version=2).count() == rounds  # one change each: one cancel
    ledger.assert_holds()
