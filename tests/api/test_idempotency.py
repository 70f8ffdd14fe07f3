"""POST /orders with an Idempotency-Key (SPEC §2): replay, reuse, validation, expiry, in flight."""

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from rest_framework.test import APIClient

from orderservice.common import clock
from orderservice.idempotency.models import IdempotencyKey
from orderservice.inventory.models import Product
from orderservice.orders.models import Order
from tests import live

pytestmark = pytest.mark.django_db

ORDER = {"products": [{"product_id": "SKU-1", "item_count": 2}]}


def post(client: APIClient, body: object, key: str | None = "key-1") -> Any:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post("/orders", body, format="json", headers=headers)


def stock(product_id: str = "SKU-1") -> int:
    return Product.objects.get(product_id=product_id).product_count


@pytest.fixture
def sku1() -> Product:
    return Product.objects.create(product_id="SKU-1", name="One", product_count=5)


def test_a_repeat_replays_the_first_answer_and_takes_no_stock(client_user, sku1):
    # given
    first = post(client_user, ORDER)

    # when
    second = post(client_user, ORDER)
    third = client_user.post("/orders/", ORDER, format="json", headers={"Idempotency-Key": "key-1"})

    # then
    assert first.status_code == 200, first.content
    assert "Idempotent-Replayed" not in first
    for replay in (second, third):
        assert replay.status_code == 200
        assert replay["Idempotent-Replayed"] == "true"
        assert replay.content == first.content
        assert replay["Location"] == first["Location"]
        assert replay["ETag"] == first["ETag"]
    assert Order.objects.count() == 1
    assert stock() == 3


def test_the_first_answer_is_the_usual_one(client_user, sku1):
    # when
    keyed = post(client_user, ORDER, key="a")
    plain = post(client_user, ORDER, key=None)

    # then
    assert keyed.status_code == plain.status_code == 200
    assert keyed["Content-Type"] == plain["Content-Type"] == "application/json"
    body, plain_body = keyed.json(), plain.json()
    assert body["order_id"] != plain_body["order_id"]
    assert {**body, "order_id": None} == {**plain_body, "order_id": None}
    assert keyed["Location"] == f"/orders/{body['order_id']}"


def test_the_same_body_in_another_key_order_or_spacing_is_the_same_request(client_user, sku1):
    # given
    first = client_user.post(
        "/orders",
        '{"products": [{"product_id": "SKU-1", "item_count": 2}]}',
        content_type="application/json",
        headers={"Idempotency-Key": "k"},
    )

    # when
    replay = client_user.post(
        "/orders",
        '{"products":[{"item_count":2,"product_id":"SKU-1"}]}',
        content_type="application/json",
        headers={"Idempotency-Key": "k"},
    )

    # then
    assert replay.status_code == 200
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.content == first.content


def test_the_key_with_another_body_is_422_and_changes_nothing(client_user, sku1):
    # given
    first = post(client_user, ORDER)

    # when
    reused = post(client_user, {"products": [{"product_id": "SKU-1", "item_count": 1}]})
    replay = post(client_user, ORDER)

    # then
    assert reused.status_code == 422
    assert reused.json()["error"] == "Idempotency key reused with a different request."
    assert reused.json()["documentation"].endswith("#idempotency-key-reused")
    assert "Idempotent-Replayed" not in reused
    assert replay.content == first.content
    assert Order.objects.count() == 1
    assert stock() == 3


@pytest.mark.parametrize(
    "key",
    ["", "x" * 256, "clé", "tab\there", "new\nline", "\x7f"],
    ids=["empty", "256-chars", "non-ascii", "tab", "newline", "del"],
)
def test_a_malformed_key_is_400_and_nothing_happens(client_user, sku1, key):
    # when
    response = post(client_user, ORDER, key=key)

    # then
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == (
        "Invalid request. Please review your request and ensure everything is correct."
    )
    assert body["details"] == {"Idempotency-Key": ["Must be 1 to 255 printable ASCII characters."]}
    assert Order.objects.count() == 0
    assert IdempotencyKey.objects.count() == 0


@pytest.mark.parametrize("key", ["x" * 255, " ", "~!@#$%^&*()_+{}|:\"<>? ;'[]\\,./`"])
def test_any_printable_ascii_up_to_255_is_a_key(client_user, sku1, key):
    # when
    first = post(client_user, ORDER, key=key)
    again = post(client_user, ORDER, key=key)

    # then
    assert first.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1


def test_a_400_is_not_stored_so_the_corrected_retry_runs(client_user, sku1):
    # given
    invalid = post(client_user, {"products": [{"product_id": "SKU-1", "item_count": 0}]})
    unknown = post(client_user, {"products": [{"product_id": "SKU-404", "item_count": 1}]})

    # when
    corrected = post(client_user, ORDER)

    # then
    assert invalid.status_code == 400
    assert unknown.status_code == 400
    assert unknown.json()["details"] == {"unknown_products": ["SKU-404"]}
    assert corrected.status_code == 200
    assert "Idempotent-Replayed" not in corrected
    assert stock() == 3


def test_a_401_is_not_stored(client_user, sku1):
    # given
    anonymous = APIClient()

    # when
    refused = anonymous.post("/orders", ORDER, format="json", headers={"Idempotency-Key": "k"})
    accepted = post(client_user, ORDER, key="k")

    # then
    assert refused.status_code == 401
    assert accepted.status_code == 200
    assert "Idempotent-Replayed" not in accepted


def test_out_of_stock_is_stored_and_replayed_even_after_a_restock(client_user, client_staff, sku1):
    # given
    big = {"products": [{"product_id": "SKU-1", "item_count": 9}]}
    first = post(client_user, big)
    client_staff.patch("/products/SKU-1", {"restock": 10}, format="json")

    # when
    replay = post(client_user, big)

    # then
    assert first.status_code == 404
    assert first.json()["error"] == "Product out of stock."
    assert first.json()["details"] == {
        "out_of_stock": [{"product_id": "SKU-1", "requested": 9, "available": 5}]
    }
    assert replay.status_code == 404
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.content == first.content
    assert Order.objects.count() == 0
    assert stock() == 15


def test_keys_belong_to_one_user(make_client, sku1):
    # given
    alice, bob = make_client("alice"), make_client("bob")

    # when
    for_alice = post(alice, ORDER, key="shared")
    for_bob = post(bob, {"products": [{"product_id": "SKU-1", "item_count": 1}]}, key="shared")

    # then
    assert for_alice.status_code == for_bob.status_code == 200
    assert "Idempotent-Replayed" not in for_bob
    assert for_alice.json()["order_id"] != for_bob.json()["order_id"]
    assert stock() == 2


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch) -> Callable[[timedelta], None]:
    """Move the service's wall clock forward."""
    real_now = clock.now

    def move(delta: timedelta) -> None:
        monkeypatch.setattr(clock, "now", lambda: real_now() + delta)

    return move


def test_a_key_older_than_24_hours_is_ignored(client_user, sku1, later):
    # given
    first = post(client_user, ORDER)

    # when
    later(timedelta(hours=24, seconds=1))
    fresh = post(client_user, {"products": [{"product_id": "SKU-1", "item_count": 1}]})
    replay = post(client_user, {"products": [{"product_id": "SKU-1", "item_count": 1}]})

    # then
    assert fresh.status_code == 200
    assert "Idempotent-Replayed" not in fresh
    assert fresh.json()["order_id"] != first.json()["order_id"]
    assert replay.content == fresh.content
    assert Order.objects.count() == 2
    assert stock() == 2


def test_a_key_younger_than_24_hours_is_honoured(client_user, sku1, later):
    # given
    first = post(client_user, ORDER)

    # when
    later(timedelta(hours=23, minutes=59))
    replay = post(client_user, ORDER)

    # then
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.content == first.content


def test_prune_deletes_only_expired_keys(client_user, sku1, later, capsys):
    # given
    post(client_user, ORDER, key="old")
    later(timedelta(hours=20))
    post(client_user, ORDER, key="recent")

    # when
    later(timedelta(hours=24, minutes=1))
    call_command("idempotency_prune")

    # then
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["recent"]
    assert capsys.readouterr().out.strip() == "Deleted 1 expired idempotency keys."
    assert Order.objects.count() == 2  # pruning keys never touches orders


# --- a key still in flight (PostgreSQL: the claim waits on the first request's row lock) --------


@pytest.fixture
def raw_connection() -> Iterator[psycopg.Connection]:
    """A second, plain psycopg connection to the test database, outside Django."""
    conn = live.raw_connection()
    try:
        yield conn
    finally:
        conn.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_key_in_flight_is_409_until_its_request_ends(client_user, sku1, raw_connection):
    # given: another request holds the key (its row inserted, not yet committed)
    user_id = get_user_model().objects.get(username="alice").pk
    fingerprint = "0" * 64
    raw_connection.execute(
        "INSERT INTO idempotency_idempotencykey"
        " (user_id, key, fingerprint, response_status, response_body, response_headers,"
        "  created_at) VALUES (%s, 'busy', %s, NULL, '', '{}', now())",
        [user_id, fingerprint],
    )
    with connection.cursor() as cursor:  # the holder outlives this request's lock wait
        cursor.execute("SET lock_timeout = '300ms'")

    # when
    try:
        in_flight = post(client_user, ORDER, key="busy")
    finally:
        raw_connection.rollback()  # the first request failed: it stored nothing
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    retried = post(client_user, ORDER, key="busy")

    # then
    assert in_flight.status_code == 409
    assert in_flight.json()["error"] == (
        "A request with this Idempotency-Key is still being processed. Retry later."
    )
    assert in_flight["Retry-After"] == "1"
    assert retried.status_code == 200
    assert "Idempotent-Replayed" not in retried
    assert Order.objects.count() == 1
    assert stock() == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_request_waits_for_the_key_holder_and_replays_its_answer(make_client, sku1):
    # given: two threads, one key; the first holds its transaction open for a moment
    outcomes: dict[str, Any] = {}
    barrier = threading.Barrier(2)
    clients = {"a": make_client("carol"), "b": make_client("carol")}

    def send(name: str) -> None:
        try:
            client = clients[name]
            barrier.wait(timeout=10)
            outcomes[name] = post(client, ORDER, key="together")
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=send, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # then
    responses = list(outcomes.values())
    assert len(responses) == 2
    assert [r.status_code for r in responses] == [200, 200]
    assert responses[0].content == responses[1].content
    assert sorted(r.get("Idempotent-Replayed", "") for r in responses) == ["", "true"]
    assert Order.objects.count() == 1
    assert stock() == 3
