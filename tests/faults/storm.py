"""The storm: many clients, random place / replay / edit / cancel / restock / reprice / read
against uWSGI workers for a set time, then every SPEC §7 invariant, the §11 stock ledger
(and `manage.py stock_audit`), the §10 totals and the §12 events checked from the database.

Each buyer owns its orders, so it knows exactly what each must hold after every 200, and at
which unit price (a line keeps its price whatever the product's price does); every order body
answered must have line totals of unit_price x item_count and a total that is their exact sum.
A replay resends an earlier keyed POST and must get the same status and the same bytes back,
flagged `Idempotent-Replayed`. Restocks and price changes come from staff sessions; restocks
count only when answered 200.
"""

import io
import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import requests
from django.core.management import call_command
from django.core.management.base import CommandError

from orderservice.events import event_types
from orderservice.events.models import Event
from orderservice.idempotency.models import IdempotencyKey
from orderservice.inventory.models import Product, StockMovement
from orderservice.inventory.stock_status import stock_crossing
from orderservice.orders.models import Order, OrderItem
from orderservice.orders.status import OrderStatus
from tests.faults.traffic import Call, call, new_key, orders_without_items, session_for
from tests.live import StockLedger, price_violations

# Relative weights of the operations.
MIX = {"place": 34, "replay": 10, "edit": 20, "cancel": 12, "restock": 6, "reprice": 2, "read": 16}
# Prices the products take, at creation and on a reprice: "0.10" is one a float cannot hold.
PRICES = ["0.10", "0.01", "19.99", "1000000.00", "3.33", "0"]


@dataclass(frozen=True)
class StormConfig:
    duration: float
    clients: int
    workers: int
    products: int = 8
    initial_stock: int = 60
    seed: int = 1


def product_prices(products: int) -> dict[str, Decimal]:
    """The storm products' starting prices."""
    return {f"S{i:02d}": Decimal(PRICES[i % len(PRICES)]) for i in range(products)}


@dataclass
class KnownOrder:
    lines: dict[str, int]
    prices: dict[str, str]  # each line's unit_price, as answered
    cancelled: bool = False
    certain: bool = True  # False once a change to it went unanswered (never, without faults)


@dataclass
class Buyer:
    """What one client saw; written by its own thread only."""

    index: int
    rng: random.Random
    orders: dict[str, KnownOrder] = field(default_factory=dict)
    keyed: list[tuple[str, dict[str, Any], Call]] = field(default_factory=list)
    placed_ids: list[str] = field(default_factory=list)
    outcomes: Counter[tuple[str, int | None]] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)


@dataclass
class StormReport:
    config: StormConfig
    seconds: float
    outcomes: Counter[tuple[str, int | None]]
    orders: int
    cancelled: int
    restocked_units: int
    violations: list[str]

    @property
    def operations(self) -> int:
        return sum(self.outcomes.values())

    def summary(self) -> str:
        by_op: dict[str, list[str]] = {}
        for (op, status), count in sorted(self.outcomes.items(), key=lambda kv: str(kv[0])):
            by_op.setdefault(op, []).append(f"{status}:{count}")
        ops = "; ".join(f"{op} {' '.join(parts)}" for op, parts in sorted(by_op.items()))
        return (
            f"storm: {self.seconds:.1f}s, {self.config.workers} workers, "
            f"{self.config.clients} clients, {self.config.products} products, "
            f"seed {self.config.seed}\n"
            f"  operations: {self.operations} ({self.operations / self.seconds:.0f}/s)\n"
            f"  by operation and status: {ops}\n"
            f"  orders stored: {self.orders} (cancelled {self.cancelled}), "
            f"units restocked: {self.restocked_units}\n"
            f"  violations: {len(self.violations)}"
            + "".join(f"\n    - {v}" for v in self.violations[:20])
        )


ALLOWED = {
    "place": {200, 404},
    "replay": {200, 404},
    "edit": {200, 400, 404},
    "cancel": {200},
    "restock": {200},
    "reprice": {200},
    "read": {200},
}


def run_storm(
    url: str, config: StormConfig, buyer_tokens: list[str], staff_token: str
) -> StormReport:
    """Drive the service at `url` for config.duration seconds, then check it from the DB."""
    product_ids = [f"S{i:02d}" for i in range(config.products)]
    ledger = StockLedger(dict.fromkeys(product_ids, config.initial_stock))
    buyers = [Buyer(i, random.Random(config.seed * 1000 + i)) for i in range(config.clients)]
    restocked = Counter[str]()
    restock_lock = threading.Lock()
    deadline = time.monotonic() + config.duration
    errors: list[BaseException] = []

    def drive(buyer: Buyer) -> None:
        session = session_for(buyer_tokens[buyer.index])
        staff = session_for(staff_token)
        try:
            while time.monotonic() < deadline:
                op = buyer.rng.choices(list(MIX), weights=list(MIX.values()))[0]
                _step(op, buyer, session, staff, url, product_ids, ledger, restocked, restock_lock)
        except BaseException as exc:
            errors.append(exc)
        finally:
            session.close()
            staff.close()

    started = time.monotonic()
    threads = [threading.Thread(target=drive, args=(b,), daemon=True) for b in buyers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=config.duration + 60)
    seconds = time.monotonic() - started
    if any(thread.is_alive() for thread in threads):
        raise TimeoutError("storm clients still running")
    if errors:
        raise errors[0]

    outcomes: Counter[tuple[str, int | None]] = Counter()
    violations: list[str] = []
    for buyer in buyers:
        outcomes.update(buyer.outcomes)
        violations.extend(buyer.violations)
    violations.extend(_check_database(buyers, ledger))
    return StormReport(
        config=config,
        seconds=seconds,
        outcomes=outcomes,
        orders=sum(len(b.orders) for b in buyers),
        cancelled=sum(o.cancelled for b in buyers for o in b.orders.values()),
        restocked_units=sum(restocked.values()),
        violations=violations,
    )


def _step(
    op: str,
    buyer: Buyer,
    session: requests.Session,
    staff: requests.Session,
    url: str,
    product_ids: list[str],
    ledger: StockLedger,
    restocked: Counter[str],
    restock_lock: threading.Lock,
) -> None:
    rng = buyer.rng
    open_orders = [oid for oid, order in buyer.orders.items() if not order.cancelled]
    if op in ("edit", "cancel", "read") and not open_orders:
        op = "place"
    if op == "replay" and not buyer.keyed:
        op = "place"

    if op == "place":
        body = {
            "products": [
                {"product_id": pid, "item_count": rng.randint(1, 4)}
                for pid in rng.sample(product_ids, rng.randint(1, 3))
            ],
            "fulfillment": rng.choice(["partial", "all_or_nothing"]),
        }
        key = new_key() if rng.random() < 0.7 else None
        headers = {"Idempotency-Key": key} if key else None
        reply = call(session, "POST", url, "/orders", json=body, headers=headers)
        if reply.status == 200:
            order_id = reply.body["order_id"]
            lines = {p["product_id"]: p["item_count"] for p in reply.body["products"]}
            buyer.orders[order_id] = KnownOrder(lines, _unit_prices(reply.body))
            buyer.placed_ids.append(order_id)
        if key and reply.status in (200, 404):
            buyer.keyed.append((key, body, reply))
    elif op == "replay":
        key, body, first = rng.choice(buyer.keyed)
        reply = call(session, "POST", url, "/orders", json=body, headers={"Idempotency-Key": key})
        if reply.status is not None and reply.status < 500:
            if reply.status != first.status or reply.content != first.content:
                buyer.violations.append(f"replay of {key} differs: {first.status} vs {reply}")
            elif reply.headers.get("Idempotent-Replayed") != "true":
                buyer.violations.append(f"replay of {key} not flagged Idempotent-Replayed")
    elif op == "edit":
        order_id = rng.choice(open_orders)
        order = buyer.orders[order_id]
        changes = {pid: rng.randint(0, 4) for pid in rng.sample(product_ids, rng.randint(1, 2))}
        body = {"products": [{"product_id": p, "item_count": n} for p, n in changes.items()]}
        expected = {p: n for p, n in {**order.lines, **changes}.items() if n}
        reply = call(session, "PATCH", url, f"/orders/{order_id}", json=body)
        if reply.status == 200:
            got = {p["product_id"]: p["item_count"] for p in reply.body["products"]}
            if order.certain and got != expected:
                buyer.violations.append(f"edit of {order_id}: {expected} expected, got {got}")
            prices = _unit_prices(reply.body)
            kept = {p: prices[p] for p in order.lines if p in got and p in prices}
            if order.certain and kept != {p: order.prices[p] for p in kept}:
                buyer.violations.append(f"edit of {order_id} repriced kept lines: {kept}")
            order.lines, order.prices = got, prices
        elif reply.status == 400 and expected:
            buyer.violations.append(f"edit of {order_id} refused: {reply.body}")
        elif reply.status is None or reply.status >= 500:
            order.certain = False
    elif op == "cancel":
        order_id = rng.choice(open_orders)
        reply = call(session, "DELETE", url, f"/orders/{order_id}")
        if reply.status == 200:
            buyer.orders[order_id].cancelled = True
        elif reply.status is None or reply.status >= 500:
            buyer.orders[order_id].certain = False
    elif op == "restock":
        product_id = rng.choice(product_ids)
        amount = rng.randint(1, 10)
        reply = call(staff, "PATCH", url, f"/products/{product_id}", json={"restock": amount})
        if reply.status == 200:
            ledger.restocked(product_id, amount)
            with restock_lock:
                restocked[product_id] += amount
    elif op == "reprice":
        body = {"price": rng.choice(PRICES)}
        reply = call(staff, "PATCH", url, f"/products/{rng.choice(product_ids)}", json=body)
    else:  # read: only this buyer changes its orders, so the server must say what it knows
        order_id = rng.choice(open_orders)
        reply = call(session, "GET", url, f"/orders/{order_id}")
        order = buyer.orders[order_id]
        if reply.status == 200 and order.certain:
            lines = {p["product_id"]: p["item_count"] for p in reply.body["products"]}
            if lines != order.lines:
                buyer.violations.append(f"{order_id} reads {lines}, last answer said {order.lines}")
            if _unit_prices(reply.body) != order.prices:
                buyer.violations.append(f"{order_id} reads other prices than {order.prices}")

    if reply.status == 200 and op in ("place", "edit", "read", "replay"):
        buyer.violations.extend(_total_problems(op, reply.body))

    buyer.outcomes[(op, reply.status)] += 1
    if reply.status not in ALLOWED[op] and reply.status != 503:
        buyer.violations.append(f"{op}: unexpected {reply.status} {reply.body or reply.error}")


def _unit_prices(body: dict[str, Any]) -> dict[str, str]:
    return {p["product_id"]: p["unit_price"] for p in body["products"]}


def _total_problems(op: str, body: dict[str, Any]) -> list[str]:
    """An order body's amounts, checked with exact decimals (SPEC §10)."""
    problems = []
    total = Decimal(0)
    for line in body["products"]:
        line_total = Decimal(line["unit_price"]) * line["item_count"]
        if line["line_total"] != f"{line_total:.2f}":
            problems.append(f"{op}: {line['product_id']} line_total {line['line_total']}")
        total += line_total
    if body["total"] != f"{total:.2f}":
        problems.append(f"{op}: total {body['total']}, its lines add up to {total}")
    return problems


def _check_database(buyers: list[Buyer], ledger: StockLedger) -> list[str]:
    violations = list(ledger.violations())  # §7.1, §7.2 and the §11 ledger
    violations.extend(price_violations())  # §10
    named = io.StringIO()
    try:
        call_command("stock_audit", stdout=io.StringIO(), stderr=named)
    except CommandError as exc:
        violations.append(f"stock_audit failed: {exc} {named.getvalue().splitlines()[:5]}")
    known = {oid: order for buyer in buyers for oid, order in buyer.orders.items()}
    placed = [oid for buyer in buyers for oid in buyer.placed_ids]
    if len(placed) != len(set(placed)):
        violations.append("§7.3: two 200s named the same order")
    stored = dict(Order.objects.values_list("id", "status"))
    if set(stored) != set(known):
        violations.append(
            f"§7.3: {len(set(stored) - set(known))} stored orders no client was told about, "
            f"{len(set(known) - set(stored))} answered orders missing"
        )
    items: dict[str, dict[str, int]] = {}
    for order_id, product_id, count in OrderItem.objects.values_list(
        "order_id", "product_id", "item_count"
    ):
        items.setdefault(order_id, {})[product_id] = count
    for order_id, order in known.items():
        if not order.certain or order_id not in stored:
            continue
        if order.cancelled != (stored[order_id] == OrderStatus.CANCELLED):
            violations.append(f"{order_id}: status {stored[order_id]}, cancelled={order.cancelled}")
        if items.get(order_id, {}) != order.lines:
            violations.append(f"{order_id}: holds {items.get(order_id)}, expected {order.lines}")
    empty = orders_without_items()
    if empty:
        violations.append(f"orders without items: {empty[:5]}")
    keyed_200 = sum(1 for b in buyers for _, _, c in b.keyed if c.status == 200)
    stored_200 = IdempotencyKey.objects.filter(response_status=200).count()
    if keyed_200 != stored_200:
        violations.append(f"idempotency: {keyed_200} keyed 200s, {stored_200} keys stored")
    violations.extend(_event_violations(stored))
    return violations


def _event_violations(stored: dict[str, str]) -> list[str]:
    """§12 from the database: each stored order has one order.placed, one order.cancelled iff
    it is cancelled (and no event names an order not stored); each product's crossing events are
    those its ledger replayed gives (count after each movement, from 0), in order."""
    violations = []
    events = list(Event.objects.order_by("id").values_list("type", "data"))
    by_order: dict[str, Counter[str]] = {}
    by_product: dict[str, list[tuple[str, int]]] = {}
    for event_type, text in events:
        data = json.loads(text)
        if event_type.startswith("order."):
            by_order.setdefault(data["order_id"], Counter())[event_type] += 1
        else:
            by_product.setdefault(data["product_id"], []).append(
                (event_type, data["product_count"])
            )
    if set(by_order) - set(stored):
        violations.append(
            f"§12: events of orders not stored: {sorted(set(by_order) - set(stored))[:5]}"
        )
    for order_id, status in stored.items():
        seen = by_order.get(order_id, Counter())
        cancelled = int(status == OrderStatus.CANCELLED)
        if seen[event_types.ORDER_PLACED] != 1 or seen[event_types.ORDER_CANCELLED] != cancelled:
            violations.append(f"§12: {order_id} ({status}) has events {dict(seen)}")
    thresholds = dict(Product.objects.values_list("product_id", "low_stock_threshold"))
    expected: dict[str, list[tuple[str, int]]] = {}
    before: dict[str, int] = {}
    for product_id, count_after in StockMovement.objects.order_by("id").values_list(
        "product_id", "count_after"
    ):
        crossing = stock_crossing(before.get(product_id, 0), count_after, thresholds[product_id])
        if crossing is not None:
            expected.setdefault(product_id, []).append((crossing, count_after))
        before[product_id] = count_after
    for product_id in thresholds:
        if by_product.get(product_id, []) != expected.get(product_id, []):
            violations.append(
                f"§12: {product_id}: crossing events {by_product.get(product_id, [])[:8]}, "
                f"its ledger gives {expected.get(product_id, [])[:8]}"
            )
    return violations
