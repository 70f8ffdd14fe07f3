"""Inside Django: migrate the benchmark database, load products, users and orders, count SQL.

Users and tokens go through `token_issue`. Products and the orders the mixed scenario reads, edits
and cancels are stored in bulk through the models, each product's stock already less the units
the seeded orders hold, so the SPEC §7 invariants hold from the start (and the final check would
catch a seeding mistake like any other). Where the revision measured has the stock ledger (SPEC
§10, §11), products get prices and their `initial` movement, order lines their unit price, and
each seeded line its `order_placed` movement, so the ledger explains every unit and
`manage.py stock_audit` holds on the bench database; an older revision (`--commit`) is seeded as
its schema allows. SQL statements are counted through the HTTP API (Django's test client, in
process).
"""

from __future__ import annotations

import os
import random
import sys
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class SeedUser:
    user_id: int
    token: str


@dataclass(frozen=True)
class SeedOrder:
    user_index: int
    order_id: str
    product_ids: list[str]


def setup_django(app_dir: Path, env: dict[str, str]) -> None:
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "orderservice.settings"
    sys.path.insert(0, str(app_dir))
    import django

    django.setup()


def close_connections() -> None:
    from django.db import connections

    connections.close_all()


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def product_id(index: int, width: int) -> str:
    return f"SKU-{index:0{width}d}"


def product_price(index: int) -> Decimal:
    """A product's price on the bench: 0.99 to 999.99."""
    return Decimal(index % 1000) + Decimal("0.99")


def _has_field(model: Any, name: str) -> bool:
    return any(f.name == name for f in model._meta.get_fields())


def _movement_model() -> Any:
    """The stock ledger's model, or None in a revision from before the ledger."""
    from django.apps import apps

    try:
        return apps.get_model("inventory", "StockMovement")
    except LookupError:
        return None


def load_products(*, count: int, stock: int, width: int, held: Mapping[str, int]) -> None:
    """`count` products of `stock` units each, less what the seeded orders hold (`held`), each
    with its price and its `initial` movement of `stock` (the seeded orders' movements take the
    held units off: load_orders)."""
    from orderservice.inventory.models import Product

    priced = _has_field(Product, "price")
    Product.objects.bulk_create(
        (
            Product(
                product_id=product_id(i, width),
                name=f"Bench product {i}",
                product_count=stock - held.get(product_id(i, width), 0),
                **({"price": product_price(i)} if priced else {}),
            )
            for i in range(count)
        ),
        batch_size=2000,
    )
    movement = _movement_model()
    if movement is None:
        return
    movement.objects.bulk_create(
        (
            movement(
                product_id=product_id(i, width),
                delta=stock,
                count_after=stock,
                reason="initial",
                note="Bench stock",
            )
            for i in range(count)
            if stock
        ),
        batch_size=2000,
    )


def plan_orders(
    *, users: int, count: int, products: int, width: int, rng: random.Random
) -> tuple[list[tuple[int, list[str]]], Counter[str]]:
    """`count` orders of 3 distinct products, 1 unit each, spread over the users; and the units
    they hold per product."""
    plan = [
        (n % users, [product_id(i, width) for i in rng.sample(range(products), 3)])
        for n in range(count)
    ]
    held: Counter[str] = Counter(pid for _, ids in plan for pid in ids)
    return plan, held


def load_orders(
    plan: list[tuple[int, list[str]]], users: list[SeedUser], *, stock: int
) -> list[SeedOrder]:
    """Store the planned orders in bulk, through the models (their defaults: status, version,
    the random id), each line at its product's price with its `order_placed` movement, which
    counts down from `stock`. Stock was already reduced by `load_products(held=...)`, so §7
    and the ledger hold."""
    from orderservice.inventory.models import Product
    from orderservice.orders.models import Order, OrderItem

    orders = [Order(user_id=users[user_index].user_id) for user_index, _ in plan]
    Order.objects.bulk_create(orders, batch_size=1000)
    prices = (
        dict(Product.objects.values_list("product_id", "price"))
        if _has_field(OrderItem, "unit_price")
        else None
    )
    OrderItem.objects.bulk_create(
        (
            OrderItem(
                order_id=order.pk,
                product_id=pid,
                item_count=1,
                **({"unit_price": prices[pid]} if prices is not None else {}),
            )
            for order, (_, ids) in zip(orders, plan, strict=True)
            for pid in ids
        ),
        batch_size=3000,
    )
    movement = _movement_model()
    if movement is not None:
        left: Counter[str] = Counter()
        rows = []
        for order, (user_index, ids) in zip(orders, plan, strict=True):
            for pid in ids:
                left[pid] += 1
                rows.append(
                    movement(
                        product_id=pid,
                        delta=-1,
                        count_after=stock - left[pid],
                        reason="order_placed",
                        order_id=order.pk,
                        actor=f"bench-{user_index:04d}",
                    )
                )
        movement.objects.bulk_create(rows, batch_size=3000)
    return [
        SeedOrder(user_index, order.pk, ids)
        for order, (user_index, ids) in zip(orders, plan, strict=True)
    ]


def load_users(count: int) -> list[SeedUser]:
    from django.contrib.auth import get_user_model

    from orderservice.tokens.services import token_issue

    users = []
    for i in range(count):
        token = token_issue(username=f"bench-{i:04d}")
        user = get_user_model().objects.get(username=f"bench-{i:04d}")
        users.append(SeedUser(user_id=user.pk, token=token))
    return users


def _client() -> Any:
    from django.test import Client

    return Client(HTTP_HOST="127.0.0.1", raise_request_exception=True)


def _place(client: Any, token: str, lines: list[tuple[str, int]]) -> Any:
    body = {"products": [{"product_id": pid, "item_count": n} for pid, n in lines]}
    return client.post(
        "/orders",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token}",
    )


def count_orders() -> tuple[int, int]:
    """(all orders, cancelled orders) in the database."""
    from orderservice.orders.models import Order

    return Order.objects.count(), Order.objects.filter(status="cancelled").count()


def statement_counts(*, user: SeedUser, products: int, width: int) -> dict[str, Any]:
    """SQL round trips per request, as the service runs them in steady state.

    Each request is made twice and the second is counted, so per-process caches are warm as
    they are under load. Django's test client skips what a real request start does
    (close_old_connections, which arms the CONN_HEALTH_CHECKS probe), so it is done here, and
    the probe's `SELECT 1`, sent on the raw connection where CaptureQueriesContext can't see it,
    is counted apart. The statements of one 3-line place are kept, to read.
    """
    from django.db import close_old_connections, connections
    from django.test.utils import CaptureQueriesContext

    connection = connections["default"]
    client = _client()
    auth = {"HTTP_AUTHORIZATION": f"Token {user.token}"}
    ids = [product_id(i, width) for i in range(1, min(products, 101))]

    def place(n: int) -> Any:
        return _place(client, user.token, [(pid, 1) for pid in ids[:n]])

    edits = iter(range(2, 100))

    def edit() -> Any:
        # A new count each time, so the counted PATCH really changes the line.
        body = {"products": [{"product_id": ids[0], "item_count": next(edits)}]}
        return client.patch(f"/orders/{first}", body, content_type="application/json", **auth)

    first = place(3).json()["order_id"]
    second = place(3).json()["order_id"]
    requests: dict[str, Any] = {
        "POST /orders (3 lines)": lambda: place(3),
        f"POST /orders ({len(ids)} lines)": lambda: place(len(ids)),
        "GET /products/{id}": lambda: client.get(f"/products/{ids[0]}", **auth),
        "GET /orders/{id}": lambda: client.get(f"/orders/{first}", **auth),
        "GET /orders (page)": lambda: client.get("/orders?limit=20", **auth),
        "PATCH /orders/{id} (1 line)": edit,
        "DELETE /orders/{id}": lambda: client.delete(f"/orders/{second}", **auth),
    }
    probes = 0
    real_is_usable = connection.is_usable

    def counting_is_usable() -> bool:
        nonlocal probes
        probes += 1
        usable: bool = real_is_usable()
        return usable

    statements: dict[str, int] = {}
    health_checks: dict[str, int] = {}
    place_sql: list[str] = []
    connection.is_usable = counting_is_usable  # type: ignore[method-assign]
    try:
        for name, call in requests.items():
            if not name.startswith("DELETE"):
                close_old_connections()
                call()  # warm
            probes = 0
            close_old_connections()
            with CaptureQueriesContext(connection) as queries:
                response = call()
            if response.status_code != 200:
                raise RuntimeError(f"{name} answered {response.status_code}: {response.content!r}")
            statements[name] = len(queries.captured_queries)
            health_checks[name] = probes
            if name == "POST /orders (3 lines)":
                place_sql = [q["sql"][:400] for q in queries.captured_queries]
    finally:
        del connection.is_usable
    return {
        "per_request": {name: statements[name] + health_checks[name] for name in statements},
        "statements": statements,
        "health_checks": health_checks,
        "place_3_lines_sql": place_sql,
    }
