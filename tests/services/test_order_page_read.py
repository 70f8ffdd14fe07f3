"""orders/selectors.order_page_read_for_user: a page of GET /orders. On PostgreSQL one statement
built once per variant (own or all orders, with or without a status, with or without a cursor),
giving what the ORM's read gives (order_list_for_user + order_lines_priced), field by field,
type by type; on SQLite the ORM's read itself. Each test runs on both databases (DATABASE_URL
for PostgreSQL), and each also checks what the page must hold, known from the orders written."""

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import AbstractBaseUser, User
from django.db import connection

from orderservice.common import clock
from orderservice.orders.models import Order
from orderservice.orders.selectors import (
    OrderRead,
    order_lines_priced,
    order_list_for_user,
    order_page_read_for_user,
)
from orderservice.orders.status import OrderStatus
from tests.factories import StaffFactory, UserFactory, place_order
from tests.services.order_reads import LINES, order_with_items, products_create, read_shape

pytestmark = pytest.mark.django_db

# A base time with microseconds, so that a time that lost them would show.
BASE = datetime(2026, 3, 1, 12, 0, 0, 123456).astimezone(clock.now().tzinfo)


@pytest.fixture(autouse=True)
def products() -> None:
    products_create()


def _order(
    user: User,
    lines: list[tuple[str, int, Decimal]],
    *,
    seconds: float,
    status: str = OrderStatus.PLACED,
) -> Order:
    """An order created `seconds` after BASE, with these items in this order."""
    created = BASE + timedelta(seconds=seconds)
    return order_with_items(
        user,
        lines,
        created_at=created,
        updated_at=created + timedelta(microseconds=7),
        status=status,
    )


def _newest_first(orders: list[Order]) -> list[str]:
    return [o.id for o in sorted(orders, key=lambda o: (o.created_at, o.id), reverse=True)]


def _orm(**page: Any) -> list[OrderRead]:
    return [OrderRead(o, *order_lines_priced(o)) for o in order_list_for_user(**page)]


def _page(
    user: AbstractBaseUser,
    *,
    status: str | None = None,
    after: tuple[datetime, str] | None = None,
    limit: int = 100,
) -> list[OrderRead]:
    """The page, after checking that it is the ORM's, field by field and type by type."""
    page: dict[str, Any] = {"user": user, "status": status, "after": after, "limit": limit}
    reads = order_page_read_for_user(**page)
    assert [read_shape(r) for r in reads] == [read_shape(r) for r in _orm(**page)]
    assert all(r.order._state.adding is False for r in reads)  # saved rows, as the ORM's
    return reads


def _ids(reads: list[OrderRead]) -> list[str]:
    return [r.order.id for r in reads]


def test_a_user_reads_their_own_orders_only_newest_first() -> None:
    # given
    alice, bob = UserFactory.create(username="alice"), UserFactory.create(username="bob")
    own = [_order(alice, LINES[:2], seconds=s) for s in (5, 1, 9)]
    others = [_order(bob, LINES[:1], seconds=s) for s in (3, 7)]

    # when
    reads = _page(alice)

    # then
    assert _ids(reads) == _newest_first(own)
    assert not set(_ids(reads)) & {o.id for o in others}
    assert _ids(_page(bob)) == _newest_first(others)


def test_staff_read_everyones_orders() -> None:
    alice, bob = UserFactory.create(username="alice"), UserFactory.create(username="bob")
    staff = StaffFactory.create()
    orders = [_order(alice, LINES[:2], seconds=s) for s in (5, 1)]
    orders += [_order(bob, LINES[1:3], seconds=s) for s in (3, 7)]

    reads = _page(staff)

    assert _ids(reads) == _newest_first(orders)
    assert {r.order.user_id for r in reads} == {alice.pk, bob.pk}


@pytest.mark.parametrize("staff", [False, True], ids=["own", "staff"])
def test_the_status_filter(staff: bool) -> None:
    # given: orders of each status, two users
    alice, bob = UserFactory.create(username="alice"), UserFactory.create(username="bob")
    reader = StaffFactory.create() if staff else alice
    orders = [
        _order(user, LINES[:1], seconds=n, status=status)
        for n, (user, status) in enumerate(
            (user, status) for status in OrderStatus.values for user in (alice, bob, alice)
        )
    ]

    for status in OrderStatus.values:
        # when
        reads = _page(reader, status=status)

        # then
        expected = [o for o in orders if o.status == status and (staff or o.user_id == alice.pk)]
        assert _ids(reads) == _newest_first(expected)
        assert {r.order.status for r in reads} == {status}


@pytest.mark.parametrize("status", [None, OrderStatus.SHIPPED])
@pytest.mark.parametrize("staff", [False, True], ids=["own", "staff"])
@pytest.mark.parametrize("limit", [1, 2, 3, 4])
def test_the_cursor_walks_every_order_once_across_equal_times(
    staff: bool, status: str | None, limit: int
) -> None:
    # given: groups of orders created at the same time, so that pages end inside a group and the
    # next page must go on by id; another user's orders in between; two statuses
    alice, bob = UserFactory.create(username="alice"), UserFactory.create(username="bob")
    reader = StaffFactory.create() if staff else alice
    orders = []
    for seconds, ties in [(10, 3), (8, 1), (5, 5), (2, 2)]:
        for user in (alice, bob):
            for status_ in (OrderStatus.SHIPPED, OrderStatus.PLACED):
                orders += [
                    _order(user, LINES[: 1 + k % len(LINES)], seconds=seconds, status=status_)
                    for k in range(ties)
                ]
    expected = _newest_first(
        [
            o
            for o in orders
            if (staff or o.user_id == alice.pk) and (status is None or o.status == status)
        ]
    )
    assert len(expected) > limit  # more than one page

    # when: pages as the view reads them, limit + 1 to know whether there is more
    seen: list[str] = []
    after = None
    while True:
        reads = _page(reader, status=status, after=after, limit=limit + 1)
        page = reads[:limit]
        seen += _ids(page)
        if len(reads) <= limit:
            break
        assert _ids(reads)[limit] == expected[len(seen)]  # the look-ahead is the next one
        after = (page[-1].order.created_at, page[-1].order.id)

    # then
    assert seen == expected
    # a page boundary fell inside a group of equal times at least once
    times = {o.id: o.created_at for o in orders}
    assert any(
        times[expected[i - 1]] == times[expected[i]] for i in range(limit, len(expected), limit)
    )


def test_the_cursor_takes_the_lower_ids_of_an_equal_time() -> None:
    alice = UserFactory.create(username="alice")
    tied = sorted((_order(alice, LINES[:1], seconds=4) for _ in range(3)), key=lambda o: o.id)
    older = _order(alice, LINES[:1], seconds=1)
    _order(alice, LINES[:1], seconds=6)

    reads = _page(alice, after=(tied[1].created_at, tied[1].id))

    assert _ids(reads) == [tied[0].id, older.id]


def test_items_come_in_item_id_order_with_their_types() -> None:
    # given: orders of 1, 2 and 5 items (neither product id nor price order), and of none
    alice = UserFactory.create(username="alice")
    one = _order(alice, LINES[2:3], seconds=4)
    two = _order(alice, LINES[3:5], seconds=3)
    five = _order(alice, LINES, seconds=2)
    none = _order(alice, [], seconds=1)

    # when
    reads = {r.order.id: r for r in _page(alice)}

    # then
    for order, lines in ((one, LINES[2:3]), (two, LINES[3:5]), (five, LINES), (none, [])):
        read = reads[order.id]
        assert list(read.lines.items()) == [(pid, n) for pid, n, _ in lines]
        assert [(pid, repr(p)) for pid, p in read.prices.items()] == [
            (pid, repr(p)) for pid, _, p in lines
        ]
        assert all(type(p) is Decimal for p in read.prices.values())
        assert all(type(n) is int for n in read.lines.values())


def test_the_times_come_back_aware_to_the_microsecond() -> None:
    alice = UserFactory.create(username="alice")
    order = _order(alice, LINES[:1], seconds=0.5)

    (read,) = _page(alice)

    assert read.order.created_at == order.created_at == BASE + timedelta(seconds=0.5)
    assert read.order.updated_at == order.updated_at
    assert read.order.created_at.utcoffset() == timedelta(0)
    assert read.order.updated_at.microsecond == (BASE.microsecond + 500_007) % 1_000_000


def test_a_placed_and_cancelled_order_reads_as_the_orm_reads_it() -> None:
    alice = UserFactory.create(username="alice")
    cancelled = place_order(user=alice, lines={"SKU-M": 2, "SKU-A": 1}, status="cancelled")
    placed = place_order(user=alice, lines={"NULL": 1})

    reads = _page(alice)

    assert set(_ids(reads)) == {cancelled.id, placed.id}
    by_id = {r.order.id: r for r in reads}
    assert by_id[cancelled.id].order.version == cancelled.version > 1
    assert list(by_id[cancelled.id].lines.items()) == [("SKU-M", 2), ("SKU-A", 1)]


def test_an_empty_page() -> None:
    alice, bob = UserFactory.create(username="alice"), UserFactory.create(username="bob")
    oldest = _order(alice, LINES[:1], seconds=1)
    _order(alice, LINES[:1], seconds=2)

    assert _page(bob) == []  # no order of one's own
    assert _page(alice, after=(oldest.created_at, oldest.id)) == []  # after the last
    assert _page(alice, status=OrderStatus.DELIVERED) == []
    assert _page(StaffFactory.create(), after=(oldest.created_at, oldest.id)) == []


@pytest.mark.parametrize("limit", [1, 3, 50])
def test_the_limit_is_held(limit: int) -> None:
    alice = UserFactory.create(username="alice")
    orders = [_order(alice, LINES[:3], seconds=s) for s in range(5)]

    reads = _page(alice, limit=limit)

    assert _ids(reads) == _newest_first(orders)[:limit]


@pytest.mark.parametrize("orders", [1, 20])
@pytest.mark.parametrize("staff", [False, True], ids=["own", "staff"])
def test_a_page_is_one_statement_on_postgresql(
    orders: int, staff: bool, django_assert_num_queries: Any
) -> None:
    alice = UserFactory.create(username="alice")
    reader = StaffFactory.create() if staff else alice
    for s in range(orders):
        _order(alice, LINES[: 1 + s % 3], seconds=s)

    # SQLite: the ORM's orders and its prefetch of their items.
    with django_assert_num_queries(1 if connection.vendor == "postgresql" else 2):
        reads = order_page_read_for_user(
            user=reader, status=OrderStatus.PLACED, after=(BASE + timedelta(days=1), ""), limit=21
        )
    assert len(reads) == orders
