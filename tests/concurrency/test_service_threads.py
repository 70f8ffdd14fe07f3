"""SPEC §7 on the service layer: real PostgreSQL transactions racing in threads.

Each thread has its own database connection and closes it when done (tests/live.py
run_concurrently). Where the interleaving matters, the test forces it: one transaction holds a
lock until PostgreSQL shows the other waiting for it.
"""

import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction

from orderservice.inventory.exceptions import OutOfStock
from orderservice.inventory.models import Product
from orderservice.inventory.services import product_restock
from orderservice.orders.exceptions import OrderConflict, OrderVersionMismatch
from orderservice.orders.models import Order
from orderservice.orders.placement import PlacedOrder, order_place
from orderservice.orders.selectors import order_lines
from orderservice.orders.services import order_cancel, order_set_status, order_update_lines
from orderservice.orders.status import OrderStatus
from tests.live import StockLedger, deadlocks_detected, products_create, run_concurrently

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(90),
]


def _user(username: str, *, staff: bool = False) -> AbstractBaseUser:
    user: AbstractBaseUser = get_user_model().objects.create(username=username, is_staff=staff)
    return user


def _stock(product_id: str) -> int:
    return Product.objects.get(product_id=product_id).product_count


def _wait_for_lock_waiter(timeout: float = 10.0) -> None:
    """Block until another session on this database waits for a lock (or fail after timeout)."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            # Inside a transaction pg_stat_activity is a snapshot taken once: drop it each time.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            row = cursor.fetchone()
            if row and row[0]:
                return
            time.sleep(0.01)
    raise TimeoutError("no session started waiting for the lock")


def _while_holding(hold: Callable[[], Any], wait: Callable[[], Any]) -> tuple[Any, Any]:
    """Run `hold` in a transaction kept open until `wait` is blocked on its locks; then commit.

    Returns both results (or raises the first error). `wait` starts only once `hold` has run, so
    it always finds the locks taken and the row versions it will read are outdated by the commit.
    """
    held = threading.Event()

    def holder() -> Any:
        with transaction.atomic():
            result = hold()
            held.set()
            _wait_for_lock_waiter()
        return result

    def waiter() -> Any:
        if not held.wait(timeout=10):
            raise TimeoutError("the holder never took its locks")
        return wait()

    first, second = run_concurrently([holder, waiter], timeout=30)
    for outcome in (first, second):
        if outcome.error is not None:
            raise outcome.error
    return first.value, second.value


# --- the order of lock waits: what a transaction sees after waiting --------------------------


@pytest.mark.parametrize("increase", ["restock", "cancel"])
@pytest.mark.parametrize("waiter", ["place", "edit"])
def test_a_write_waiting_on_a_stock_increase_sees_the_increased_stock(
    increase: str, waiter: str
) -> None:
    # given: A has 1 unit left in stock (plus 3 held by an order that may be cancelled)
    products_create({"A": 6, "B": 5})
    ledger = StockLedger({"A": 6, "B": 5})
    user = _user("alice")
    held = order_place(user=user, lines={"A": 3}, partial=False).order
    edited = order_place(user=user, lines={"A": 1, "B": 1}, partial=False).order
    order_place(user=user, lines={"A": 1}, partial=False)
    assert _stock("A") == 1

    def hold() -> object:
        if increase == "restock":
            return product_restock(product_id="A", amount=3)
        return order_cancel(order_id=held.id, user=user)

    def wait() -> object:
        if waiter == "place":
            return order_place(user=user, lines={"A": 2}, partial=False)
        return order_update_lines(order_id=edited.id, user=user, lines={"A": 3})

    # when: the write needing 2 units of A waits for the increase to commit
    _while_holding(hold, wait)

    # then: it saw 4 units, took 2, and the books balance
    if increase == "restock":
        ledger.restocked("A", 3)
    assert _stock("A") == 2
    ledger.assert_holds()


def test_update_lines_racing_cancel_on_one_order_moves_stock_once() -> None:
    # given
    products_create({"A": 100, "B": 100, "C": 100})
    ledger = StockLedger({"A": 100, "B": 100, "C": 100})
    user = _user("alice")
    outcomes: dict[str, int] = {"edited then cancelled": 0, "cancelled first": 0}

    def late_cancel(order_id: str, delay: float) -> Order:
        time.sleep(delay)  # lets the edit win some rounds
        return order_cancel(order_id=order_id, user=user)

    for round_ in range(16):
        order = order_place(user=user, lines={"A": 2, "B": 2}, partial=False).order

        # when: an edit (grow A, drop B, add C) and a cancel hit the order at once
        edit, cancel = run_concurrently(
            [
                partial(
                    order_update_lines, order_id=order.id, user=user, lines={"A": 5, "B": 0, "C": 1}
                ),
                partial(late_cancel, order.id, 0.003 * (round_ % 4)),
            ]
        )

        # then: the cancel always wins in the end; the edit either came first or was refused
        assert cancel.error is None, cancel.error
        stored = Order.objects.get(id=order.id)
        assert stored.status == OrderStatus.CANCELLED
        if edit.error is None:
            outcomes["edited then cancelled"] += 1
            assert order_lines(stored) == {"A": 5, "C": 1}
            assert stored.version == 3
        else:
            outcomes["cancelled first"] += 1
            assert isinstance(edit.error, OrderConflict), edit.error
            assert order_lines(stored) == {"A": 2, "B": 2}
            assert stored.version == 2
        ledger.assert_holds()
        assert {p.product_id: p.product_count for p in Product.objects.all()} == {
            "A": 100,
            "B": 100,
            "C": 100,
        }
    print(f"\n{outcomes}")


def test_racing_edits_with_the_same_if_match_let_exactly_one_through() -> None:
    # given
    products_create({"A": 100})
    ledger = StockLedger({"A": 100})
    user = _user("alice")

    for _ in range(10):
        order = order_place(user=user, lines={"A": 1}, partial=False).order

        # when: two clients edit the same version 1 at once
        results = run_concurrently(
            [
                partial(
                    order_update_lines, order_id=order.id, user=user, lines={"A": n}, if_match={1}
                )
                for n in (2, 3)
            ]
        )

        # then: one edit applied, the other got 412's exception and changed nothing
        winners = [r for r in results if r.error is None]
        losers = [r for r in results if r.error is not None]
        assert len(winners) == 1, results
        assert isinstance(losers[0].error, OrderVersionMismatch), losers[0].error
        stored = Order.objects.get(id=order.id)
        assert stored.version == 2
        assert order_lines(stored) == winners[0].value.lines
        ledger.assert_holds()


def test_cancel_racing_ship_one_wins_and_stock_follows_it() -> None:
    # given
    products_create({"A": 100})
    ledger = StockLedger({"A": 100})
    user, staff = _user("alice"), _user("boss", staff=True)
    shipped = 0

    for _ in range(12):
        order = order_place(user=user, lines={"A": 3}, partial=False).order
        order_set_status(order_id=order.id, user=staff, status=OrderStatus.PROCESSING)

        # when
        cancel, ship = run_concurrently(
            [
                partial(order_cancel, order_id=order.id, user=user),
                partial(order_set_status, order_id=order.id, user=staff, status="shipped"),
            ]
        )

        # then: exactly one of them happened
        assert (cancel.error is None) != (ship.error is None), (cancel, ship)
        loser = cancel.error or ship.error
        assert isinstance(loser, OrderConflict), loser
        stored = Order.objects.get(id=order.id)
        if ship.error is None:
            shipped += 1
            assert stored.status == OrderStatus.SHIPPED
        else:
            assert stored.status == OrderStatus.CANCELLED
        ledger.assert_holds()
    assert _stock("A") == 100 - 3 * shipped


# --- lock order: many products, named in opposite orders --------------------------------------

PRODUCT_IDS = ["A", "B", "C", "D", "E"]


def test_places_naming_products_in_opposite_orders_neither_deadlock_nor_oversell() -> None:
    # given: scarce stock, so some orders are refused and partial fills happen
    stock = dict.fromkeys(PRODUCT_IDS, 40)
    products_create(stock)
    ledger = StockLedger(stock)
    users = [_user(f"buyer{i}") for i in range(6)]
    deadlocks_before = deadlocks_detected()

    def buyer(index: int) -> list[PlacedOrder | OutOfStock]:
        # Even buyers name products A..E, odd ones E..A; with a different count per line.
        names = PRODUCT_IDS if index % 2 == 0 else PRODUCT_IDS[::-1]
        results: list[PlacedOrder | OutOfStock] = []
        for round_ in range(15):
            lines = {name: 1 + (index + round_ + i) % 3 for i, name in enumerate(names)}
            try:
                results.append(order_place(user=users[index], lines=lines, partial=round_ % 2 == 0))
            except OutOfStock as exc:
                results.append(exc)
        return results

    # when
    outcomes = run_concurrently([partial(buyer, i) for i in range(len(users))], timeout=60)

    # then: no error other than OutOfStock reached the callers
    assert [o.error for o in outcomes if o.error is not None] == []
    placed = [r for o in outcomes for r in o.value if isinstance(r, PlacedOrder)]
    refused = [r for o in outcomes for r in o.value if isinstance(r, OutOfStock)]
    assert len(placed) + len(refused) == 6 * 15
    assert placed, "no order went through: the test proved nothing"
    assert Order.objects.count() == len(placed)
    taken: dict[str, int] = dict.fromkeys(PRODUCT_IDS, 0)
    for result in placed:
        for product_id, count in result.lines.items():
            taken[product_id] += count
    assert {p.product_id: p.product_count for p in Product.objects.all()} == {
        product_id: 40 - taken[product_id] for product_id in PRODUCT_IDS
    }
    ledger.assert_holds()
    # and PostgreSQL detected no deadlock (the retry wrapper would have hidden one from us)
    assert deadlocks_detected() == deadlocks_before
