"""The feed under 16 concurrent writers and one reader, with a transaction held open on purpose
while the others commit: the reader following `next` sees every event exactly once, in commit
order. A reader that goes by id alone (the naive feed) skips the held transaction's event.

Real PostgreSQL, real transactions, nothing mocked.
"""

import random
import threading
import time
from collections.abc import Callable

import pytest
from django.db import connection, transaction
from rest_framework.test import APIClient

from orderservice.common.db import in_transaction
from orderservice.events.models import Event
from orderservice.events.outbox import event_record
from orderservice.tokens.services import token_issue

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WRITERS = 16
COMMITS_EACH = 20
TIME_LIMIT = 120.0


@in_transaction
def _write(writer: int, n: int) -> None:
    event_record("order.updated", {"writer": writer, "n": n})


def _thread(target: Callable[[], None]) -> threading.Thread:
    def run() -> None:
        try:
            target()
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_the_feed_never_skips_a_transaction_that_commits_late():
    token = token_issue(username="reader", staff=True)
    deadline = time.monotonic() + TIME_LIMIT
    held_written, release, writers_done, stop = (threading.Event() for _ in range(4))
    held: dict[str, str] = {}
    feed_seen: list[str] = []
    naive_seen: list[str] = []
    feed_seen_while_held: list[int] = []
    errors: list[BaseException] = []

    def hold() -> None:
        # Starts first, writes first (the lowest id and transaction id), commits last.
        with transaction.atomic():
            event_record("order.cancelled", {"held": True})
            held["event_id"] = Event.objects.get(type="order.cancelled").event_id
            held_written.set()
            release.wait(TIME_LIMIT)

    def naive_reader() -> None:
        last = 0
        while not stop.is_set() and time.monotonic() < deadline:
            for pk, event_id in (
                Event.objects.filter(id__gt=last).order_by("id").values_list("id", "event_id")
            ):
                naive_seen.append(event_id)
                last = pk
            time.sleep(0.01)

    def feed_reader() -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        url = "/events?limit=50"
        while time.monotonic() < deadline:
            body = client.get(url).json()
            feed_seen.extend(event["event_id"] for event in body["results"])
            if body["next"]:
                url = body["next"]
                continue
            if stop.is_set() and not body["results"]:
                return
            if feed_seen:
                url = f"/events?limit=50&after={feed_seen[-1]}"
            time.sleep(0.01)

    def writer(number: int) -> Callable[[], None]:
        def write() -> None:
            for n in range(COMMITS_EACH):
                _write(number, n)
                time.sleep(random.uniform(0, 0.01))

        return write

    def guarded(target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except BaseException as exc:
                errors.append(exc)
                raise

        return run

    # given: the held transaction has written its event
    holder = _thread(guarded(hold))
    assert held_written.wait(30)
    readers = [_thread(guarded(naive_reader)), _thread(guarded(feed_reader))]

    # when: 16 writers commit while it is held; then it commits, and the writers go on
    writers = [_thread(guarded(writer(number))) for number in range(WRITERS)]
    while len(naive_seen) < WRITERS * COMMITS_EACH // 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # the feed reader polls a few more times meanwhile
    feed_seen_while_held.append(len(feed_seen))
    release.set()
    holder.join(TIME_LIMIT)
    for thread in writers:
        thread.join(TIME_LIMIT)
    total = 1 + WRITERS * COMMITS_EACH
    while len(set(feed_seen)) < total and time.monotonic() < deadline and not errors:
        time.sleep(0.05)
    stop.set()
    for thread in readers:
        thread.join(TIME_LIMIT)

    # then: no errors, and every event committed is in the database
    assert errors == []
    in_feed_order = list(Event.objects.order_by("xid", "id").values_list("event_id", flat=True))
    assert len(in_feed_order) == total
    # the feed: nothing skipped, nothing twice, in (commit) order
    assert feed_seen == in_feed_order
    # it served nothing past the held transaction while that one ran...
    assert feed_seen_while_held == [0]
    # ... whereas the naive reader went past it and never saw its event
    assert len(naive_seen) >= WRITERS * COMMITS_EACH // 2
    assert held["event_id"] not in naive_seen
    assert Event.objects.get(event_id=held["event_id"]).id < Event.objects.order_by("id")[1].id
