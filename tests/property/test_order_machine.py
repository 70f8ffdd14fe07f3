"""A hypothesis state machine over the order and inventory services (SPEC §2-§7, §10, §11).

Random places, edits, cancels, status moves, restocks, stock settings and price changes run
against the real services and database; a plain-Python model predicts each outcome. After every
step the database must match the model exactly (stock, every order's lines with their unit
prices, status and version, every product's unfilled units), §7.1/§7.2 must hold, the ledger
must explain every unit (each product's movements add up to its stock, each order's movements to
its lines) and every order body's total must be the exact sum of its lines. A refused call must
have changed nothing but the unfilled units it counts (§7.3). Runs on SQLite and PostgreSQL.

Each example uses fresh product ids and users, so no rows need deleting between examples.
"""

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial as bind
from typing import TypeVar

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Sum
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from orderservice.inventory.exceptions import OutOfStock, ProductNotFound, UnknownProducts
from orderservice.inventory.models import Product, StockMovement
from orderservice.inventory.selectors import ORDER_REASONS
from orderservice.inventory.services import product_create, product_restock, product_update
from orderservice.orders.bodies import order_body
from orderservice.orders.exceptions import (
    EmptyOrder,
    OrderConflict,
    OrderNotFound,
    OrderVersionMismatch,
)
from orderservice.orders.models import Order, OrderItem
from orderservice.orders.placement import order_place
from orderservice.orders.selectors import order_lines_priced
from orderservice.orders.services import order_cancel, order_set_status, order_update_lines
from tests.factories import ledger_violations
from tests.live import held_by_orders

NAMES = ["A", "B", "C"]  # product names; each example prefixes them to make fresh ids
UNKNOWN = "NOPE"
STATUSES = ["placed", "processing", "shipped", "delivered", "cancelled"]
# SPEC §3, written out here rather than imported, so the code is checked against the spec.
NEXT = {
    "placed": {"processing", "cancelled"},
    "processing": {"shipped", "cancelled"},
    "shipped": {"delivered"},
    "delivered": set(),
    "cancelled": set(),
}
EDITABLE = {"placed", "processing"}
# Prices worth mixing: none, a cent, one a float cannot hold, an everyday one, the maximum.
PRICES = [Decimal(p) for p in ["0.00", "0.01", "0.10", "19.99", "1000000.00"]]

_examples = itertools.count()
T = TypeVar("T")


@dataclass
class ModelOrder:
    lines: dict[str, int]
    prices: dict[str, Decimal] = field(default_factory=dict)  # each line's unit price
    status: str = "placed"
    version: int = 1


def _merge(lines: list[tuple[str, int]]) -> dict[str, int]:
    merged: dict[str, int] = {}
    for product_id, count in lines:
        merged[product_id] = merged.get(product_id, 0) + count
    return merged


def _attempt(
    call: Callable[[], T], *refusals: type[Exception]
) -> tuple[T | None, Exception | None]:
    """Call; return (result, None), or (None, the refusal) when it raises one of `refusals`."""
    try:
        return call(), None
    except refusals as exc:
        return None, exc


def _shortages(exc: OutOfStock) -> set[tuple[str, int, int]]:
    return {(s.product_id, s.requested, s.available) for s in exc.shortages}


class OrderMachine(RuleBasedStateMachine):
    orders = Bundle("orders")

    def __init__(self) -> None:
        super().__init__()
        n = next(_examples)
        self.ids = {name: f"E{n}-{name}" for name in NAMES}
        self.names = {product_id: name for name, product_id in self.ids.items()}
        users = get_user_model().objects
        self.user: AbstractBaseUser = users.create(username=f"prop{n}-owner")
        self.other: AbstractBaseUser = users.create(username=f"prop{n}-other")
        self.staff: AbstractBaseUser = users.create(username=f"prop{n}-staff", is_staff=True)
        self.stock: dict[str, int] = {}  # the model's product_count per product
        self.price: dict[str, Decimal] = {}  # each product's current price
        self.unfilled: dict[str, int] = {}  # each product's unfilled_units
        self.totals: dict[str, int] = {}  # initial + restocks (re-based by a stock setting)
        self.model: dict[str, ModelOrder] = {}

    # --- helpers -------------------------------------------------------------------------------

    def _pid(self, name: str) -> str:
        return self.ids.get(name, UNKNOWN)

    def _if_match(self, order_id: str, choice: str) -> set[int] | None:
        version = self.model[order_id].version
        return {"none": None, "current": {version}, "stale": {version - 1}}[choice]

    def _cancel_in_model(self, order: ModelOrder) -> None:
        for product_id, count in order.lines.items():
            self.stock[product_id] += count
        order.status = "cancelled"
        order.version += 1

    # --- rules -----------------------------------------------------------------------------------

    @initialize(
        stock=st.lists(st.integers(0, 12), min_size=len(NAMES), max_size=len(NAMES)),
        prices=st.lists(st.sampled_from(PRICES), min_size=len(NAMES), max_size=len(NAMES)),
    )
    def create_products(self, stock: list[int], prices: list[Decimal]) -> None:
        for name, count, price in zip(NAMES, stock, prices, strict=True):
            product_id = self.ids[name]
            product_create(
                product_id=product_id, name=f"Product {name}", product_count=count, price=price
            )
            self.stock[product_id] = self.totals[product_id] = count
            self.price[product_id] = price
            self.unfilled[product_id] = 0

    @rule(
        target=orders,
        lines=st.lists(
            st.tuples(st.sampled_from([*NAMES, UNKNOWN]), st.integers(1, 6)),
            min_size=1,
            max_size=5,
        ),
        partial=st.booleans(),
    )
    def place(self, lines: list[tuple[str, int]], partial: bool) -> object:
        requested = _merge([(self._pid(name), count) for name, count in lines])
        unknown = sorted(pid for pid in requested if pid not in self.stock)
        fits = {
            pid: n for pid, n in requested.items() if pid in self.stock and self.stock[pid] >= n
        }
        short = {
            (pid, n, self.stock[pid])
            for pid, n in requested.items()
            if pid in self.stock and pid not in fits
        }

        placed, refusal = _attempt(
            bind(order_place, user=self.user, lines=requested, partial=partial),
            UnknownProducts,
            OutOfStock,
        )
        if isinstance(refusal, UnknownProducts):
            assert unknown, f"refused known products {refusal.product_ids}"
            assert sorted(refusal.product_ids) == unknown
            return multiple()
        if isinstance(refusal, OutOfStock):
            assert not unknown, "unknown products must be refused as such"
            assert short, "refused an order the stock could fill"
            assert not fits or not partial, "partial refused although some lines fit"
            assert _shortages(refusal) == short
            for product_id, count in requested.items():  # every line of a refused order
                self.unfilled[product_id] += count
            return multiple()
        assert placed is not None

        assert not unknown, f"placed an order naming unknown products {unknown}"
        assert placed.lines == fits, "filled lines differ from what the stock could fill"
        assert not short or partial, "all_or_nothing placed an order with a short line"
        assert {(s.product_id, s.requested, s.available) for s in placed.out_of_stock} == short
        for product_id, count in fits.items():
            self.stock[product_id] -= count
        for product_id, count, _ in short:  # the lines left out of a partial order
            self.unfilled[product_id] += count
        prices = {product_id: self.price[product_id] for product_id in fits}
        assert placed.prices == prices
        self.model[placed.order.id] = ModelOrder(lines=dict(fits), prices=prices)
        return placed.order.id

    @rule(
        target=orders,
        name=st.sampled_from(NAMES),
        count=st.integers(1, 3),
        partial=st.booleans(),
    )
    def place_one_line(self, name: str, count: int, partial: bool) -> object:
        # A second, simpler way in: single small lines mostly succeed, so runs build up orders
        # for the other rules to work on (hypothesis picks rules uniformly).
        return self.place([(name, count)], partial)

    @rule(
        order_id=orders,
        lines=st.dictionaries(
            st.sampled_from([*NAMES, UNKNOWN]), st.integers(0, 6), min_size=1, max_size=4
        ),
        if_match=st.sampled_from(["none", "none", "current", "stale"]),
    )
    def update_lines(self, order_id: str, lines: dict[str, int], if_match: str) -> None:
        order = self.model[order_id]
        requested = {self._pid(name): count for name, count in lines.items()}
        new_lines = dict(order.lines)
        for product_id, count in requested.items():
            if count:
                new_lines[product_id] = count
            else:
                new_lines.pop(product_id, None)
        increases = {
            pid: n - order.lines.get(pid, 0)
            for pid, n in requested.items()
            if n > order.lines.get(pid, 0)
        }
        short = {
            (pid, extra, self.stock[pid])
            for pid, extra in increases.items()
            if pid in self.stock and self.stock[pid] < extra
        }
        # Every refusal the spec allows here; when several apply, any one of them will do.
        refusals: set[type[Exception]] = set()
        if if_match == "stale":
            refusals.add(OrderVersionMismatch)
        if order.status not in EDITABLE:
            refusals.add(OrderConflict)
        if any(pid not in self.stock for pid in requested):
            refusals.add(UnknownProducts)  # SPEC §1: an unknown product_id is a 400, even at 0
        if not new_lines:
            refusals.add(EmptyOrder)
        if short:
            refusals.add(OutOfStock)

        updated, refusal = _attempt(
            bind(
                order_update_lines,
                order_id=order_id,
                user=self.user,
                lines=requested,
                if_match=self._if_match(order_id, if_match),
            ),
            OrderVersionMismatch,
            OrderConflict,
            UnknownProducts,
            EmptyOrder,
            OutOfStock,
        )
        if refusal is not None:
            assert type(refusal) in refusals, f"{refusal!r}: expected one of {refusals}"
            if isinstance(refusal, OutOfStock):
                assert _shortages(refusal) == short
                for product_id, extra in increases.items():  # every increase, once
                    self.unfilled[product_id] += extra
            return
        assert updated is not None
        assert not refusals, f"edit went through; expected one of {refusals}"
        assert updated.lines == new_lines
        changed = new_lines != order.lines
        assert {(c.product_id, c.before, c.after) for c in updated.changes} == {
            (pid, order.lines.get(pid, 0), new_lines.get(pid, 0))
            for pid in set(order.lines) | set(new_lines)
            if order.lines.get(pid, 0) != new_lines.get(pid, 0)
        }
        for product_id in set(order.lines) | set(new_lines):
            self.stock[product_id] += order.lines.get(product_id, 0) - new_lines.get(product_id, 0)
        # A line kept keeps its price; a line added takes the product's price now.
        order.prices = {
            pid: order.prices[pid] if pid in order.lines else self.price[pid] for pid in new_lines
        }
        assert updated.prices == order.prices
        order.lines = new_lines
        if changed:
            order.version += 1

    @rule(order_id=orders, if_match=st.sampled_from(["none", "none", "current", "stale"]))
    def cancel(self, order_id: str, if_match: str) -> None:
        order = self.model[order_id]
        refusals: set[type[Exception]] = set()
        if if_match == "stale":
            refusals.add(OrderVersionMismatch)
        if "cancelled" not in NEXT[order.status]:
            refusals.add(OrderConflict)
        _, refusal = _attempt(
            bind(
                order_cancel,
                order_id=order_id,
                user=self.user,
                if_match=self._if_match(order_id, if_match),
            ),
            OrderVersionMismatch,
            OrderConflict,
        )
        if refusal is not None:
            assert type(refusal) in refusals, f"{refusal!r}: expected one of {refusals}"
            return
        assert not refusals, f"cancel went through; expected one of {refusals}"
        self._cancel_in_model(order)

    @rule(order_id=orders, status=st.sampled_from(STATUSES))
    def set_status(self, order_id: str, status: str) -> None:
        order = self.model[order_id]
        allowed = status in NEXT[order.status]
        _, refusal = _attempt(
            bind(order_set_status, order_id=order_id, user=self.staff, status=status),
            OrderConflict,
        )
        if refusal is not None:
            assert not allowed, f"{order.status} -> {status} refused"
            return
        assert allowed, f"{order.status} -> {status} allowed"
        if status == "cancelled":
            self._cancel_in_model(order)  # staff cancelling is a cancel: stock returns
        else:
            order.status = status
            order.version += 1

    @rule(order_id=orders)
    def advance(self, order_id: str) -> None:
        # Along the pipeline (placed -> processing -> shipped -> delivered): random targets alone
        # rarely get an order shipped, and shipped orders are what edits and cancels must refuse.
        following = sorted(NEXT[self.model[order_id].status] - {"cancelled"})
        self.set_status(order_id, following[0] if following else "processing")

    @rule(order_id=orders, action=st.sampled_from(["cancel", "edit", "status"]))
    def someone_elses_order(self, order_id: str, action: str) -> None:
        # Another (non-staff) user cannot see the order: it is not found, and nothing changes.
        attempts: dict[str, Callable[[], object]] = {
            "cancel": bind(order_cancel, order_id=order_id, user=self.other),
            "edit": bind(
                order_update_lines, order_id=order_id, user=self.other, lines={self.ids["A"]: 1}
            ),
            "status": bind(
                order_set_status, order_id=order_id, user=self.other, status="processing"
            ),
        }
        with pytest.raises(OrderNotFound):
            attempts[action]()

    @rule(name=st.sampled_from([*NAMES, UNKNOWN]), amount=st.integers(1, 8))
    def restock(self, name: str, amount: int) -> None:
        product_id = self._pid(name)
        if product_id not in self.stock:
            with pytest.raises(ProductNotFound):
                product_restock(product_id=product_id, amount=amount)
            return
        product = product_restock(product_id=product_id, amount=amount)
        self.stock[product_id] += amount
        self.totals[product_id] += amount
        assert product.product_count == self.stock[product_id]

    @rule(
        name=st.sampled_from([*NAMES, UNKNOWN]),
        count=st.none() | st.integers(0, 15),
        rename=st.booleans(),
    )
    def update_product(self, name: str, count: int | None, rename: bool) -> None:
        product_id = self._pid(name)
        new_name = f"Renamed {name}" if rename else None
        if product_id not in self.stock:
            with pytest.raises(ProductNotFound):
                product_update(product_id=product_id, name=new_name, product_count=count)
            return
        product = product_update(product_id=product_id, name=new_name, product_count=count)
        if count is not None:
            # Setting the stock level re-bases the books: what orders hold is unchanged.
            self.totals[product_id] += count - self.stock[product_id]
            self.stock[product_id] = count
        assert product.product_count == self.stock[product_id]

    @rule(name=st.sampled_from(NAMES), price=st.sampled_from(PRICES))
    def reprice(self, name: str, price: Decimal) -> None:
        # Changes the price of lines to come, never of an order placed (SPEC §10).
        product_update(product_id=self.ids[name], price=price)
        self.price[self.ids[name]] = price

    # --- what must hold after every step ---------------------------------------------------------

    @invariant()
    def database_matches_the_model(self) -> None:
        stock = dict(
            Product.objects.filter(product_id__in=self.names).values_list(
                "product_id", "product_count"
            )
        )
        assert stock == self.stock

        held = held_by_orders(product_ids=self.names)
        for product_id, total in self.totals.items():
            assert stock[product_id] >= 0, f"§7.1: {product_id} at {stock[product_id]}"
            assert stock[product_id] + held.get(product_id, 0) == total, f"§7.2: {product_id}"

        orders = {
            o.id: (o.status, o.version)
            for o in Order.objects.filter(user__in=[self.user, self.other, self.staff])
        }
        assert orders == {oid: (o.status, o.version) for oid, o in self.model.items()}, "§7.3"
        lines: dict[str, dict[str, int]] = {}
        prices: dict[str, dict[str, Decimal]] = {}
        for item in OrderItem.objects.filter(order_id__in=orders):
            lines.setdefault(item.order_id, {})[item.product_id] = item.item_count
            prices.setdefault(item.order_id, {})[item.product_id] = item.unit_price
        assert lines == {oid: o.lines for oid, o in self.model.items()}
        assert prices == {oid: o.prices for oid, o in self.model.items()}, "§10: unit prices"

        unfilled = dict(
            Product.objects.filter(product_id__in=self.names).values_list(
                "product_id", "unfilled_units"
            )
        )
        assert unfilled == self.unfilled, "§11: unfilled units"

    @invariant()
    def the_ledger_explains_every_unit(self) -> None:
        # Each product's movements add up to its stock, each count_after following the last.
        assert ledger_violations(self.names) == []
        # Each order's movements take what it holds: its lines, or nothing once cancelled.
        taken = {
            (row["order_id"], row["product_id"]): -row["total"]
            for row in StockMovement.objects.filter(
                order_id__in=self.model, reason__in=ORDER_REASONS
            )
            .values("order_id", "product_id")
            .annotate(total=Sum("delta"))
            if row["total"]
        }
        assert taken == {
            (oid, pid): count
            for oid, order in self.model.items()
            if order.status != "cancelled"
            for pid, count in order.lines.items()
        }

    @invariant()
    def every_order_total_is_the_exact_sum_of_its_lines(self) -> None:
        for order in Order.objects.filter(id__in=self.model).prefetch_related("items"):
            body = order_body(order, *order_lines_priced(order))
            expected = self.model[order.id]
            line_totals = []
            for line in body["products"]:
                unit_price = expected.prices[line["product_id"]]
                assert line["unit_price"] == f"{unit_price:.2f}"
                assert line["line_total"] == f"{unit_price * line['item_count']:.2f}"
                line_totals.append(Decimal(line["line_total"]))
            assert body["total"] == f"{sum(line_totals, Decimal(0)):.2f}"


@pytest.mark.django_db(transaction=True)
def test_order_services_agree_with_the_model() -> None:
    run_state_machine_as_test(
        OrderMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            # No "explain" phase: it traces every line Django runs and turns a failure that
            # shrinks in seconds into minutes. Shrinking stays on.
            phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
            report_multiple_bugs=False,
        ),
    )
