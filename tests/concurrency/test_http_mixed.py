"""A bounded storm over HTTP: places, edits, cancels, restocks and status moves at once.

Buyers each own their orders (so each knows exactly what its orders must hold), a staff client
restocks and another moves orders along the status pipeline. Afterwards SPEC §7.1-§7.3 are
checked from the database, and no request may have answered 5xx.
"""

import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from orderservice.orders.lines import apply_edit, merge_lines
from orderservice.orders.models import Order, OrderItem
from orderservice.orders.status import ALLOWED_TRANSITIONS, OrderStatus
from tests.concurrency.clients import Reply, call, fan_out
from tests.live import LiveServer, StockLedger, deadlocks_detected, products_create, user_token

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(120)]

PRODUCTS = {f"P{i}": 40 for i in range(6)}
BUYERS = 8
DURATION_SECONDS = 10.0
MAX_OPS_PER_CLIENT = 600
SEED = int(os.environ.get("CONCURRENCY_SEED", "0")) or random.randrange(1, 10**6)

OUT_OF_STOCK = "Product out of stock."
ORDER_NOT_FOUND = "Order not found. Ensure supplied order_id is correct."
STATUSES = list(OrderStatus.values)


@dataclass
class Known:
    """An order as its owner knows it: lines from the last 200, its ETag, whether it may change."""

    order_id: str
    lines: dict[str, int]
    etag: str
    cancelled: bool = False
    frozen: bool = False  # a 409 said it can no longer be edited (shipped, or cancelled by staff)


@dataclass
class Journal:
    """What one client saw. Merged after the run; each client writes only its own."""

    replies: Counter[tuple[str, int]] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    placed: list[str] = field(default_factory=list)
    orders: dict[str, Known] = field(default_factory=dict)
    cancelled: list[str] = field(default_factory=list)
    statuses: dict[str, list[str]] = field(default_factory=dict)  # order -> statuses set (200)

    def note(self, kind: str, reply: Reply, allowed: set[int]) -> bool:
        """Count the reply; report it unless its status is allowed and its body JSON."""
        self.replies[(kind, reply.status)] += 1
        if reply.status not in allowed or not reply.is_json:
            self.unexpected.append(f"{kind}: {reply.status} {str(reply.body)[:300]}")
            return False
        return True

    def check(self, condition: bool, what: str, reply: Reply) -> None:
        if not condition:
            self.unexpected.append(f"{what}: {reply.status} {str(reply.body)[:300]}")


class Registry:
    """Order ids placed so far, shared by all clients (staff and the foreign-access probes)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids: list[tuple[str, str]] = []  # (order_id, owner token)

    def add(self, order_id: str, owner: str) -> None:
        with self._lock:
            self._ids.append((order_id, owner))

    def pick(self, rng: random.Random) -> tuple[str, str] | None:
        with self._lock:
            return rng.choice(self._ids) if self._ids else None


def _lines_of(products: list[dict[str, Any]]) -> dict[str, int]:
    return {line["product_id"]: line["item_count"] for line in products}


class Buyer:
    def __init__(self, url: str, token: str, rng: random.Random, registry: Registry) -> None:
        self.url = url
        self.token = token
        self.rng = rng
        self.registry = registry
        self.journal = Journal()

    def run(self, deadline: float) -> Journal:
        actions: list[Callable[[], None]] = [self.place, self.edit, self.cancel, self.probe]
        for _ in range(MAX_OPS_PER_CLIENT):
            if time.monotonic() > deadline:
                break
            self.rng.choices(actions, weights=[5, 4, 1.5, 0.5])[0]()
        return self.journal

    def _live_orders(self) -> list[Known]:
        return [o for o in self.journal.orders.values() if not o.cancelled and not o.frozen]

    def place(self) -> None:
        rng, journal = self.rng, self.journal
        # Random products in random order, so concurrent orders name them in different orders.
        pairs = [
            (pid, rng.randint(1, 4)) for pid in rng.sample(sorted(PRODUCTS), rng.randint(1, 4))
        ]
        if rng.random() < 0.2:
            pairs.append((pairs[0][0], 1))  # a duplicate line: the server merges it
        lines = [{"product_id": pid, "item_count": count} for pid, count in pairs]
        body: dict[str, Any] = {"products": lines}
        fulfillment = rng.choice(["partial", "all_or_nothing", None])
        if fulfillment:
            body["fulfillment"] = fulfillment
        requested = merge_lines(pairs)

        reply = call("POST", f"{self.url}/orders", token=self.token, json=body)
        if not journal.note("place", reply, {200, 404}):
            return
        if reply.status == 404:
            journal.check(reply.error == OUT_OF_STOCK, "place 404 error", reply)
            short = {s["product_id"]: s for s in reply.body["details"]["out_of_stock"]}
            journal.check(
                bool(short)
                and all(
                    s["requested"] == requested[pid] and s["available"] < s["requested"]
                    for pid, s in short.items()
                )
                and (fulfillment == "all_or_nothing" or set(short) == set(requested)),
                "place 404 details",
                reply,
            )
            return
        order_id = reply.body["order_id"]
        taken = {p["product_id"]: p["item_count"] for p in reply.body["products"]}
        short_ids = {s["product_id"] for s in reply.body["out_of_stock"]}
        journal.check(
            reply.body["message"] == "Success! Order placed"
            and reply.body["order_status"] == "placed"
            and all(p["product_count"] == p["item_count"] for p in reply.body["products"])
            and all(requested[pid] == count for pid, count in taken.items())
            and set(taken) | short_ids == set(requested)
            and not set(taken) & short_ids
            and (fulfillment != "all_or_nothing" or not short_ids)
            and reply.headers.get("Location") == f"/orders/{order_id}",
            "place 200 body",
            reply,
        )
        journal.placed.append(order_id)
        journal.orders[order_id] = Known(order_id, taken, reply.headers.get("ETag", ""))
        self.registry.add(order_id, self.token)

    def edit(self) -> None:
        rng, journal = self.rng, self.journal
        candidates = self._live_orders()
        if not candidates:
            self.place()
            return
        order = rng.choice(candidates)
        request: dict[str, int] = {}
        for _ in range(rng.randint(1, 3)):
            if order.lines and rng.random() < 0.6:
                request[rng.choice(sorted(order.lines))] = rng.randint(0, 6)  # resize or remove
            else:
                request[rng.choice(sorted(PRODUCTS))] = rng.randint(1, 4)  # add (or resize)
        expected, changes = apply_edit(order.lines, request)
        headers = {"If-Match": order.etag} if rng.random() < 0.3 else {}

        reply = call(
            "PATCH",
            f"{self.url}/orders/{order.order_id}",
            token=self.token,
            json={"products": [{"product_id": p, "item_count": c} for p, c in request.items()]},
            headers=headers,
        )
        allowed = {200, 404, 409} | ({412} if headers else set()) | (set() if expected else {400})
        if not journal.note("edit", reply, allowed):
            return
        if reply.status == 200:
            journal.check(
                _lines_of(reply.body["products"]) == expected
                and {(c["product_id"], c["from"], c["to"]) for c in reply.body["changes"]}
                == {(c.product_id, c.before, c.after) for c in changes},
                f"edit 200 body (expected {expected})",
                reply,
            )
            order.lines = _lines_of(reply.body["products"])
            order.etag = reply.headers.get("ETag", "")
        elif reply.status == 404:
            journal.check(reply.error == OUT_OF_STOCK, "edit 404 error", reply)
            increases = {c.product_id: c.after - c.before for c in changes if c.after > c.before}
            journal.check(
                all(
                    increases.get(s["product_id"]) == s["requested"]
                    for s in reply.body["details"]["out_of_stock"]
                ),
                "edit 404 details",
                reply,
            )
        elif reply.status == 409:
            order.frozen = True
        elif reply.status == 412:
            self.refresh(order)

    def cancel(self) -> None:
        candidates = [o for o in self.journal.orders.values() if not o.cancelled]
        if not candidates:
            return
        order = self.rng.choice(candidates)
        headers = {"If-Match": order.etag} if self.rng.random() < 0.3 else {}
        reply = call(
            "DELETE", f"{self.url}/orders/{order.order_id}", token=self.token, headers=headers
        )
        if not self.journal.note("cancel", reply, {200, 409} | ({412} if headers else set())):
            return
        if reply.status == 200:
            self.journal.check(
                reply.body == {"message": "Order successfully cancelled"}, "cancel body", reply
            )
            order.cancelled = True
            self.journal.cancelled.append(order.order_id)
        elif reply.status == 409:
            order.frozen = True
        elif reply.status == 412:
            self.refresh(order)

    def refresh(self, order: Known) -> None:
        """After a 412: the order's lines must still be what this owner last set."""
        reply = call("GET", f"{self.url}/orders/{order.order_id}", token=self.token)
        if self.journal.note("get", reply, {200}):
            self.journal.check(
                _lines_of(reply.body["products"]) == order.lines, "lines after 412", reply
            )
            order.etag = reply.headers.get("ETag", "")

    def probe(self) -> None:
        """Another user's order answers 404 to every method and is left unchanged."""
        picked = self.registry.pick(self.rng)
        if picked is None or picked[1] == self.token:
            return
        method, body = self.rng.choice(
            [
                ("GET", None),
                ("DELETE", None),
                ("PATCH", {"products": [{"product_id": "P0", "item_count": 1}]}),
            ]
        )
        reply = call(method, f"{self.url}/orders/{picked[0]}", token=self.token, json=body)
        if self.journal.note("foreign", reply, {404}):
            self.journal.check(reply.error == ORDER_NOT_FOUND, "foreign 404 error", reply)


def _restocker(url: str, token: str, rng: random.Random, ledger: StockLedger, deadline: float):
    journal = Journal()
    for _ in range(MAX_OPS_PER_CLIENT):
        if time.monotonic() > deadline:
            break
        product_id, amount = rng.choice(sorted(PRODUCTS)), rng.randint(1, 8)
        reply = call("PATCH", f"{url}/products/{product_id}", token=token, json={"restock": amount})
        if journal.note("restock", reply, {200}):
            ledger.restocked(product_id, amount)
            journal.check(reply.body["product_count"] >= amount, "restock body", reply)
        listing = call("GET", f"{url}/products?limit=100", token=token)
        if journal.note("products", listing, {200}):
            journal.check(
                all(p["product_count"] >= 0 for p in listing.body["results"]),
                "§7.1 seen live",
                listing,
            )
        time.sleep(0.1)
    return journal


def _mover(url: str, token: str, rng: random.Random, registry: Registry, deadline: float):
    journal = Journal()
    seen: dict[str, str] = {}  # the status this client last saw each order in
    for _ in range(MAX_OPS_PER_CLIENT):
        if time.monotonic() > deadline:
            break
        picked = registry.pick(rng)
        if picked is None:
            time.sleep(0.02)
            continue
        order_id = picked[0]
        current = seen.get(order_id, OrderStatus.PLACED)
        following = sorted(ALLOWED_TRANSITIONS[current])
        target = rng.choice(following) if following and rng.random() < 0.8 else rng.choice(STATUSES)
        reply = call(
            "PATCH", f"{url}/orders/{order_id}", token=token, json={"order_status": target}
        )
        if not journal.note("status", reply, {200, 409}):
            continue
        if reply.status == 200:
            journal.check(reply.body["order_status"] == target, "status 200 body", reply)
            journal.statuses.setdefault(order_id, []).append(target)
            seen[order_id] = target
            if target == OrderStatus.CANCELLED:
                journal.cancelled.append(order_id)
        else:
            fresh = call("GET", f"{url}/orders/{order_id}", token=token)
            if journal.note("get", fresh, {200}):
                seen[order_id] = fresh.body["order_status"]
    return journal


def test_mixed_storm_keeps_every_invariant(
    live_server_factory: Callable[..., LiveServer],
) -> None:
    # given
    deadlocks_before = deadlocks_detected()
    products_create(PRODUCTS)
    ledger = StockLedger(PRODUCTS)
    registry = Registry()
    staff = user_token("staff", staff=True)
    buyer_tokens = [user_token(f"buyer{i}") for i in range(BUYERS)]
    server = live_server_factory(workers=4)
    deadline = time.monotonic() + DURATION_SECONDS
    buyers = [
        Buyer(server.url, token, random.Random(SEED * 100 + i), registry)
        for i, token in enumerate(buyer_tokens)
    ]
    jobs: list[Callable[[], Journal]] = [
        *(lambda b=b: b.run(deadline) for b in buyers),
        lambda: _restocker(server.url, staff, random.Random(SEED), ledger, deadline),
        lambda: _mover(server.url, staff, random.Random(SEED + 1), registry, deadline),
    ]

    # when
    started = time.monotonic()
    journals = fan_out(jobs, threads=len(jobs), timeout=DURATION_SECONDS + 90)
    elapsed = time.monotonic() - started
    server.stop()

    # then
    replies: Counter[tuple[str, int]] = sum((j.replies for j in journals), Counter())
    print(f"\nseed {SEED}: {sum(replies.values())} requests in {elapsed:.1f}s: {dict(replies)}")
    unexpected = [line for j in journals for line in j.unexpected]
    assert not unexpected, (
        f"seed {SEED}:\n" + "\n".join(unexpected[:30]) + f"\nserver log:\n{server.log_tail()}"
    )
    assert not [kind for kind, status in replies if status >= 500]
    assert replies[("place", 200)] > 20, "the storm placed too few orders to prove anything"
    assert replies[("edit", 200)] > 10, "the storm edited too few orders to prove anything"
    ledger.assert_holds()

    # §7.3: every 200 from POST is exactly one stored order; every other POST stored nothing
    placed = [order_id for j in journals for order_id in j.placed]
    assert len(placed) == len(set(placed)) == replies[("place", 200)]
    assert set(Order.objects.values_list("id", flat=True)) == set(placed)

    # each order holds exactly what its owner last saw, in the status the clients last set
    cancels = Counter(order_id for j in journals for order_id in j.cancelled)
    assert max(cancels.values(), default=1) == 1, "an order was cancelled twice"
    moves = {order_id: s for j in journals for order_id, s in j.statuses.items()}
    stored: dict[str, dict[str, int]] = {}
    for item in OrderItem.objects.all():
        stored.setdefault(item.order_id, {})[item.product_id] = item.item_count
    known = {order_id: o for j in journals for order_id, o in j.orders.items()}
    mismatched = [
        (order_id, o.lines, stored.get(order_id))
        for order_id, o in known.items()
        if stored.get(order_id) != o.lines
    ]
    assert not mismatched, mismatched[:10]
    for order in Order.objects.all():
        if order.id in cancels:
            assert order.status == OrderStatus.CANCELLED, order
        else:
            assert order.status == (moves.get(order.id) or [OrderStatus.PLACED])[-1], order

    # the lock order held: PostgreSQL saw no deadlock (retrying one would hide it from clients)
    assert deadlocks_detected() == deadlocks_before
