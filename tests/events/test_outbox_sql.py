"""The one-statement piece (outbox_sql): events inserted by a CTE of the writing statement, with
the columns the ORM path writes, served by the feed like any other."""

import json
import re

import pytest
from django.db import connection

from orderservice.common import clock
from orderservice.common.db import in_transaction
from orderservice.events import outbox_sql
from orderservice.events.models import Event
from orderservice.events.outbox import event_record, json_time
from orderservice.events.selectors import event_feed
from tests.events.conftest import feed_settled

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# The docstring's example, on a stand-in for stock_sql's `taken` CTE.
TAKEN = """taken AS (
    SELECT * FROM (VALUES ('SKU-2'::text, 1::bigint, 2::bigint), ('SKU-1', 3, 1))
        AS t(product_id, item_count, ord)
)"""
ORDER_PLACED = """
    SELECT 'order.placed', json_build_object(
        'order_id', %(order_id)s::text, 'order_status', %(order_status)s::text,
        'products', (SELECT json_agg(json_build_object('product_id', product_id,
                                                       'item_count', item_count) ORDER BY ord)
                     FROM taken),
        'created_at', %(order_now_json)s::text, 'updated_at', %(order_now_json)s::text,
        'user', %(order_username)s::text, 'version', %(order_version)s::int)
    WHERE EXISTS (SELECT 1 FROM taken)
    UNION ALL
    SELECT 'product.out_of_stock', json_build_object('product_id', product_id) FROM taken
    WHERE item_count = 3
"""


def _run(rows: str = ORDER_PLACED) -> dict[str, object]:
    now = clock.now()
    params = {
        **outbox_sql.params(created_at=now),
        "order_id": "ord_" + "a" * 24,
        "order_status": "placed",
        "order_now_json": json_time(now),
        "order_username": "alice",
        "order_version": 1,
    }
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {TAKEN}, {outbox_sql.cte(rows)} SELECT 1", params)
    feed_settled()
    return params


def test_the_cte_writes_the_events_of_its_statement():
    params = _run()

    placed, out_of_stock = Event.objects.order_by("id")
    assert (placed.type, out_of_stock.type) == ("order.placed", "product.out_of_stock")
    assert placed.created_at == params["events_created_at"]
    assert re.fullmatch(r"evt_[0-9a-f]{32}", placed.event_id)
    assert placed.xid == out_of_stock.xid > 0  # one statement, one transaction
    assert json.loads(placed.data) == {
        "order_id": "ord_" + "a" * 24,
        "order_status": "placed",
        "products": [
            {"product_id": "SKU-1", "item_count": 3},
            {"product_id": "SKU-2", "item_count": 1},
        ],
        "created_at": params["order_now_json"],
        "updated_at": params["order_now_json"],
        "user": "alice",
        "version": 1,
    }
    assert [e.event_id for e in event_feed(after=None, event_filter=None, limit=5)] == [
        placed.event_id,
        out_of_stock.event_id,
    ]


def test_the_same_columns_as_the_orm_path():
    _run("SELECT 'order.updated', json_build_object('n', 1)")
    in_transaction(lambda: event_record("order.updated", {"n": 1}))()

    sql_row, orm_row = Event.objects.order_by("id").values("type", "data", "xid", "event_id")

    assert sql_row["type"] == orm_row["type"]
    assert json.loads(sql_row["data"]) == json.loads(orm_row["data"])
    assert 0 < sql_row["xid"] < orm_row["xid"]
    assert sql_row["event_id"] != orm_row["event_id"]
