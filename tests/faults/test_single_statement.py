"""The one-statement order (PostgreSQL autocommit): a connection lost while the statement runs is
not retried, since it may have committed; the client gets 503 at once and nothing is doubled."""

import threading
import time

import psycopg
import pytest
from django.db import connection

from orderservice.common.exceptions import DatabaseUnavailable
from orderservice.inventory.models import Product
from orderservice.orders import placement
from orderservice.orders.models import Order
from orderservice.orders.placement import order_place
from tests.factories import ProductFactory, UserFactory
from tests.live import raw_connection

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.timeout(60),
    pytest.mark.django_db(transaction=True),
]


def _backend_waiting_on_a_lock(admin: psycopg.Connection, deadline: float) -> int:
    # The order statement is the call of its function (common/db/stored.py).
    while time.monotonic() < deadline:
        row = admin.execute(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            " AND query LIKE %s",
            [f"SELECT * FROM {placement.STORED_STATEMENTS[0].name}_%"],
        ).fetchone()
        if row:
            return int(row[0])
        time.sleep(0.02)
    raise AssertionError("the order statement never waited on the product lock")


def test_a_connection_lost_mid_statement_is_503_at_once_and_not_retried():
    # given: a product whose row another transaction holds locked
    user = UserFactory.create(username="buyer")
    ProductFactory.create(product_id="SKU-L", product_count=5)
    holder = raw_connection()
    holder.execute("SELECT 1 FROM inventory_product WHERE product_id = 'SKU-L' FOR UPDATE")
    admin = raw_connection()
    admin.autocommit = True
    outcome: list[object] = []
    finished = threading.Event()

    def place() -> None:
        try:
            order_place(user=user, lines={"SKU-L": 1}, partial=True)
            outcome.append("placed")
        except Exception as exc:  # noqa: BLE001 - the test inspects whatever came out
            outcome.append(exc)
        finally:
            connection.close()
            finished.set()

    # when: the order's statement waits on the lock, and its connection is cut under it
    thread = threading.Thread(target=place)
    thread.start()
    try:
        pid = _backend_waiting_on_a_lock(admin, time.monotonic() + 10)
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        # then: the answer comes at once, while the lock is still held (a retry would be
        # waiting on it again, for the lock timeout)
        assert finished.wait(timeout=1.0), "the lost statement was retried"
    finally:
        holder.rollback()
        holder.close()
        thread.join(timeout=30)
        admin.close()

    assert len(outcome) == 1
    assert isinstance(outcome[0], DatabaseUnavailable)
    assert Order.objects.count() == 0
    assert Product.objects.get(product_id="SKU-L").product_count == 5
