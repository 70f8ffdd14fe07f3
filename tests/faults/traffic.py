"""HTTP traffic for the fault tests: timed calls, bounded client loops, and checks from the DB."""

import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from orderservice.idempotency.models import IdempotencyKey
from orderservice.orders.models import Order, OrderItem

# (connect, read): far above any answer the service may take, so a hang shows as a timeout.
CLIENT_TIMEOUT = (5.0, 30.0)
UNAVAILABLE = "Inventory service unavailable. Please retry later."


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    started: float  # time.monotonic()
    elapsed: float
    status: int | None  # None: no HTTP answer (connection reset, timeout)
    body: Any = None
    # Case-insensitive, as HTTP field names are: granian sends them in lower case, uWSGI as
    # the app wrote them.
    headers: Mapping[str, str] = field(default_factory=dict)
    error: str | None = None
    content: bytes = b""  # the body as sent

    @property
    def ended(self) -> float:
        return self.started + self.elapsed


def call(
    session: requests.Session,
    method: str,
    url: str,
    path: str,
    *,
    json: Any = None,
    headers: dict[str, str] | None = None,
) -> Call:
    """One request; never raises for a failed one (the failure is in the Call)."""
    started = time.monotonic()
    try:
        response = session.request(
            method, url + path, json=json, headers=headers, timeout=CLIENT_TIMEOUT
        )
    except requests.RequestException as exc:
        return Call(method, path, started, time.monotonic() - started, None, error=repr(exc))
    elapsed = time.monotonic() - started
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    return Call(
        method,
        path,
        started,
        elapsed,
        response.status_code,
        body,
        requests.structures.CaseInsensitiveDict(response.headers),
        content=response.content,
    )


def session_for(token: str) -> requests.Session:
    session = requests.Session()
    session.headers.update({"Authorization": f"Token {token}", "Accept": "application/json"})
    return session


def new_key() -> str:
    return uuid.uuid4().hex


class Clients:
    """`count` threads, each running `step(index, session)` until `stop()` or the deadline."""

    def __init__(
        self,
        tokens: list[str],
        step: Callable[[int, requests.Session], None],
        *,
        max_seconds: float,
    ) -> None:
        self._stop = threading.Event()
        self._deadline = time.monotonic() + max_seconds
        self.errors: list[BaseException] = []

        def run(index: int) -> None:
            session = session_for(tokens[index])
            try:
                while not self._stop.is_set() and time.monotonic() < self._deadline:
                    step(index, session)
            except BaseException as exc:  # reported by join()
                self.errors.append(exc)
            finally:
                session.close()

        self._threads = [
            threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(tokens))
        ]

    def start(self) -> "Clients":
        for thread in self._threads:
            thread.start()
        return self

    def stop(self, timeout: float = 40.0) -> None:
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        stuck = sum(thread.is_alive() for thread in self._threads)
        assert not stuck, f"{stuck} client threads still running"
        assert not self.errors, f"client threads failed: {self.errors[:3]}"


def orders_without_items() -> list[str]:
    """Orders that took no stock: there must be none (SPEC §2: an order holds its items)."""
    return list(Order.objects.filter(items__isnull=True).values_list("id", flat=True))


def order_ids_of(usernames: Iterable[str]) -> set[str]:
    orders = Order.objects.filter(user__username__in=list(usernames))
    return set(orders.values_list("id", flat=True))


def keyed_order_ids() -> dict[str, str]:
    """order_id -> idempotency key, from the stored 200 answers."""
    import json

    result = {}
    for key, body in IdempotencyKey.objects.filter(response_status=200).values_list(
        "key", "response_body"
    ):
        result[json.loads(body)["order_id"]] = key
    return result


def items_total(order_ids: Iterable[str]) -> int:
    return sum(
        OrderItem.objects.filter(order_id__in=list(order_ids)).values_list("item_count", flat=True)
    )
