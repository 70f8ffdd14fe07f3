"""Business metrics (Prometheus), every name starting with `orders_`; served at GET /metrics.

Under uWSGI, serve.py sets PROMETHEUS_MULTIPROC_DIR before any worker imports
prometheus_client, so each process writes its values to a file there and /metrics adds them up
across workers. Without it (runserver, tests) they live in the process's default registry.

Each increment costs a few microseconds (an mmap write in multiprocess mode). Events that happen
inside a transaction are counted on commit (`on_commit`), so a retried or rolled-back attempt is
never counted.
"""

import functools
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from django.db import transaction
from prometheus_client import Counter, Histogram

P = ParamSpec("P")
R = TypeVar("R")

ORDERS_PLACED = Counter("orders_placed", "Orders placed (committed).")
ORDERS_FILLED_LINES = Counter(
    "orders_filled_lines", "Order lines filled in full when an order was placed."
)
ORDERS_OUT_OF_STOCK_LINES = Counter(
    "orders_out_of_stock_lines",
    "Order lines the stock could not fill when an order was placed (partial fills and 404s).",
)
ORDERS_CANCELLED = Counter("orders_cancelled", "Orders cancelled (stock returned).")
ORDERS_EDITED = Counter("orders_edited", "Order line edits committed (PATCH products).")
ORDERS_STATUS_CHANGES = Counter(
    "orders_status_changes", "Order status changes other than cancel, by new status.", ["status"]
)
ORDERS_IDEMPOTENT_REPLAYS = Counter(
    "orders_idempotent_replays", "Responses replayed for a repeated Idempotency-Key."
)
ORDERS_DB_RETRIES = Counter(
    "orders_db_retries", "Transactions retried after a transient database failure."
)
ORDERS_UNAVAILABLE = Counter(
    "orders_unavailable", "Requests answered 503: the database did not answer within the budget."
)
ORDERS_THROTTLED = Counter(
    "orders_throttled", "Requests answered 429, by throttle scope (user, ip).", ["scope"]
)
ORDERS_ALERTS = Counter("orders_alerts", "Alerts raised to admins, by kind.", ["kind"])
ORDERS_PLACE_SECONDS = Histogram(
    "orders_place_duration_seconds",
    "Time to place an order (the service call, retries included).",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def on_commit(action: Callable[[], None]) -> None:
    """Run `action` once the current transaction commits; never for a rolled-back attempt."""
    transaction.on_commit(action, robust=True)


def order_placed(*, filled_lines: int, out_of_stock_lines: int) -> None:
    ORDERS_PLACED.inc()
    ORDERS_FILLED_LINES.inc(filled_lines)
    if out_of_stock_lines:
        ORDERS_OUT_OF_STOCK_LINES.inc(out_of_stock_lines)


def timed(histogram: Histogram) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorator: observe the wall time of every call, whether it returns or raises."""

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                histogram.observe(time.perf_counter() - start)

        return wrapper

    return decorate
