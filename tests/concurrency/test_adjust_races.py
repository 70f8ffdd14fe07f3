"""SPEC §10 and §11 under concurrency: a counted stock (expected_count) is never applied over a
change it did not see, and the ledger adds up, whatever restocks, adjustments and orders race it;
an order waiting on a price change takes the new price (PostgreSQL)."""

import random
import time
from collections.abc import Callable
from decimal import Decimal
from functools import partial

import pytest
from django.contrib.auth import get_user_model

from orderservice.inventory.exceptions import (
    OutOfStock,
    StockNotAsExpected,
    StockWouldGoNegative,
)
from orderservice.inventory.models import Product, StockMovement
from orderservice.inventory.services import product_adjust, product_restock, product_update
from orderservice.orders.exceptions import EmptyOrder, OrderConflict
from orderservice.orders.models import Order
from orderservice.orders.placement import order_place
from orderservice.orders.selectors import order_ledger_mismatches
from orderservice.orders.services import order_cancel, order_update_lines
from tests.concurrency.test_service_threads import _while_holding
from tests.factories import ledger_violations, movements
from tests.live import price_violations, products_create, run_concurrently

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(120),
]

ROUNDS = 20  # per thread
SECONDS = 20.0  # and at most this long


def _stock(product_id: str) -> int:
    return Product.objects.get(product_id=product_id).product_count


@pytest.mark.parametrize("change", ["restock", "delta"])
def test_a_count_waiting_on_a_change_sees_it_and_is_refused(change: str) -> None:
    # given: staff counted 10 units; a restock (or an adjustment) holds the row when they post it
    products_create({"A": 10})

    def hold() -> object:
        if change == "restock":
            return product_restock(product_id="A", amount=3, actor="boss")
        return product_adjust(product_id="A", delta=-4, reason="damaged", actor="boss")

    def count() -> object:
        try:
            return product_adjust(
                product_id="A", set_to=12, expected_count=10, reason="correction", actor="clerk"
            )
        except StockNotAsExpected as exc:
            return exc

    # when
    _, counted = _while_holding(hold, count)

    # then: refused with the stock it did not see; nothing of it stored
    assert isinstance(counted, StockNotAsExpected)
    after = 13 if change == "restock" else 6
    assert counted.details() == {"product_count": after}
    assert _stock("A") == after
    assert not StockMovement.objects.filter(actor="clerk").exists()
    assert ledger_violations() == []


def _count_by_hand(
    seed: int, deadline: float, count: Callable[[random.Random, int], int]
) -> list[tuple[int, int]]:
    """Count by hand (a read outside any lock), then post `count(rng, seen)` with
    expected_count=seen until the deadline; the (movement id, count seen) of each applied one."""
    rng = random.Random(seed)
    applied = []
    for _ in range(ROUNDS):
        if time.monotonic() > deadline:
            break
        product_id = rng.choice("AB")
        seen = _stock(product_id)
        try:
            adjusted = product_adjust(
                product_id=product_id,
                set_to=count(rng, seen),
                expected_count=seen,
                reason="correction",
                note=f"seen {seen}",
                actor=f"counter-{seed}",
            )
        except StockNotAsExpected:
            continue
        if adjusted.movement is not None:
            applied.append((adjusted.movement.pk, seen))
    return applied


def test_counts_racing_restocks_and_adjustments_never_apply_over_an_unseen_change() -> None:
    # given
    products_create({"A": 50, "B": 50})
    deadline = time.monotonic() + SECONDS

    def counter(seed: int) -> list[tuple[int, int]]:
        return _count_by_hand(seed, deadline, lambda rng, seen: max(0, seen + rng.randint(-3, 3)))

    def mover(seed: int) -> int:
        rng = random.Random(seed)
        done = 0
        for _ in range(ROUNDS):
            if time.monotonic() > deadline:
                break
            product_id = rng.choice("AB")
            try:
                if rng.random() < 0.5:
                    product_restock(product_id=product_id, amount=rng.randint(1, 5), actor="mover")
                else:
                    product_adjust(
                        product_id=product_id,
                        delta=rng.choice([-4, -2, -1, 1, 2]),
                        reason=rng.choice(["damaged", "found", "lost", "returned"]),
                        actor="mover",
                    )
                done += 1
            except StockWouldGoNegative:
                pass
        return done

    # when
    outcomes = run_concurrently(
        [
            *(partial(counter, seed) for seed in range(4)),
            *(partial(mover, 100 + s) for s in range(4)),
        ],
        timeout=90,
    )

    # then: nobody failed; every applied count moved the stock from exactly what was counted
    errors = [o.error for o in outcomes if o.error is not None]
    assert not errors, errors
    applied = [pair for o in outcomes[:4] for pair in o.value]
    for movement_id, seen in applied:
        movement = StockMovement.objects.get(pk=movement_id)
        assert movement.count_after - movement.delta == seen, (movement, seen)
    assert sum(o.value for o in outcomes[4:]) > 0
    # and the ledger explains every unit, each movement counting on from the one before
    assert ledger_violations() == []
    for product_id in "AB":
        assert sum(delta for delta, *_ in movements(product_id)) == _stock(product_id)
    print(f"\n{len(applied)} counts applied")


@pytest.mark.parametrize("change", ["place", "edit", "cancel"])
def test_a_count_waiting_on_an_order_sees_its_change_and_is_refused(change: str) -> None:
    # given: staff counted A at 10 - 4 = 6 units, an order of 4 having been placed
    products_create({"A": 10})
    alice = get_user_model().objects.create(username="alice")
    order = order_place(user=alice, lines={"A": 4}, partial=False).order

    def hold() -> object:
        if change == "place":
            return order_place(user=alice, lines={"A": 2}, partial=False)
        if change == "edit":
            return order_update_lines(order_id=order.id, user=alice, lines={"A": 5})
        return order_cancel(order_id=order.id, user=alice)

    def count() -> object:
        try:
            return product_adjust(
                product_id="A", set_to=6, expected_count=6, reason="correction", actor="clerk"
            )
        except StockNotAsExpected as exc:
            return exc

    # when
    _, counted = _while_holding(hold, count)

    # then
    assert isinstance(counted, StockNotAsExpected)
    after = {"place": 4, "edit": 5, "cancel": 10}[change]
    assert counted.details() == {"product_count": after}
    assert _stock("A") == after
    assert not StockMovement.objects.filter(actor="clerk").exists()
    assert ledger_violations() == []
    assert order_ledger_mismatches() == []


def test_an_order_waiting_on_a_price_change_takes_the_new_price() -> None:
    # given
    products_create({"A": 10}, {"A": Decimal("2.00")})
    alice = get_user_model().objects.create(username="alice")

    # when: the order's statement waits on the row a price change holds
    _, placed = _while_holding(
        lambda: product_update(product_id="A", price=Decimal("3.00"), actor="boss"),
        lambda: order_place(user=alice, lines={"A": 2}, partial=False),
    )

    # then: one price for the line, the one committed before it took the stock
    assert placed.prices == {"A": Decimal("3.00")}
    assert Order.objects.get().items.get().unit_price == Decimal("3.00")


def test_counts_racing_orders_never_apply_over_an_unseen_change() -> None:
    # given
    products_create({"A": 60, "B": 60}, {"A": Decimal("0.10"), "B": Decimal("19.99")})
    buyers = [get_user_model().objects.create(username=f"buyer-{i}") for i in range(4)]
    deadline = time.monotonic() + SECONDS

    def counter(seed: int) -> list[tuple[int, int]]:
        return _count_by_hand(seed, deadline, lambda rng, seen: seen + rng.randint(0, 3))

    def buyer(index: int) -> int:
        rng = random.Random(100 + index)
        user, done = buyers[index], 0
        mine: list[str] = []
        for _ in range(ROUNDS):
            if time.monotonic() > deadline:
                break
            try:
                if not mine or rng.random() < 0.5:
                    lines = {p: rng.randint(1, 3) for p in rng.sample("AB", rng.randint(1, 2))}
                    mine.append(order_place(user=user, lines=lines, partial=True).order.id)
                elif rng.random() < 0.6:
                    lines = {rng.choice("AB"): rng.randint(0, 4)}
                    order_update_lines(order_id=rng.choice(mine), user=user, lines=lines)
                else:
                    order_cancel(order_id=mine.pop(rng.randrange(len(mine))), user=user)
                done += 1
            except (OutOfStock, OrderConflict, EmptyOrder):
                pass  # refusals the random moves may meet
        return done

    # when
    outcomes = run_concurrently(
        [*(partial(counter, s) for s in range(3)), *(partial(buyer, i) for i in range(4))],
        timeout=90,
    )

    # then: every applied count moved the stock from exactly what was counted
    errors = [o.error for o in outcomes if o.error is not None]
    assert not errors, errors
    applied = [pair for o in outcomes[:3] for pair in o.value]
    for movement_id, seen in applied:
        movement = StockMovement.objects.get(pk=movement_id)
        assert movement.count_after - movement.delta == seen, (movement, seen)
    assert sum(o.value for o in outcomes[3:]) > 0
    # and the ledger explains every unit, every order's movements its lines, every total exact
    assert ledger_violations() == []
    assert order_ledger_mismatches() == []
    assert price_violations() == []
    print(f"\n{len(applied)} counts applied beside {Order.objects.count()} orders")
