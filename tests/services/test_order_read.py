"""orders/selectors.order_read_for_user: on PostgreSQL one statement built once, giving what the
ORM's read gives (order_get_for_user + order_lines_priced), field by field, type by type; on
SQLite the ORM's read itself. Each test runs on both databases (DATABASE_URL for PostgreSQL)."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import AbstractBaseUser, User
from django.db import connection

from orderservice.common import clock
from orderservice.orders.exceptions import OrderNotFound
from orderservice.orders.models import Order
from orderservice.orders.selectors import (
    OrderRead,
    order_get_for_user,
    order_lines_priced,
    order_read_for_user,
)
from orderservice.orders.status import OrderStatus
from tests.factories import StaffFactory, UserFactory, place_order
from tests.services.order_reads import LINES, order_with_items, products_create, read_shape

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def products() -> None:
    products_create()


def _order(user: User, lines: list[tuple[str, int, Decimal]], **fields: Any) -> Order:
    now = clock.now()
    return order_with_items(
        user, lines, created_at=now - timedelta(days=3), updated_at=now, **fields
    )


def _orm(order_id: str, user: AbstractBaseUser) -> OrderRead:
    order = order_get_for_user(order_id=order_id, user=user)
    return OrderRead(order, *order_lines_priced(order))


def _same_as_orm(read: OrderRead, order_id: str, user: AbstractBaseUser) -> None:
    orm = _orm(order_id, user)
    assert read_shape(read) == read_shape(orm)
    assert read.order._state.adding is False  # a saved row, as the ORM's


@pytest.mark.parametrize("size", [0, 1, 2, len(LINES)])
def test_an_own_order_reads_as_the_orm_reads_it(size: int) -> None:
    # given
    user = UserFactory.create(username="alice")
    order = _order(user, LINES[:size], version=7)

    # when
    read = order_read_for_user(order_id=order.id, user=user)

    # then: what was written, in item id order, with the ORM's types
    assert read.order.id == order.id
    assert read.order.version == 7
    assert list(read.lines.items()) == [(pid, n) for pid, n, _ in LINES[:size]]
    assert [(pid, str(p)) for pid, p in read.prices.items()] == [
        (pid, str(p)) for pid, _, p in LINES[:size]
    ]
    _same_as_orm(read, order.id, user)


def test_the_times_come_back_aware_to_the_microsecond() -> None:
    user = UserFactory.create(username="alice")
    order = _order(user, LINES[:1])

    read = order_read_for_user(order_id=order.id, user=user)

    assert read.order.created_at == order.created_at
    assert read.order.updated_at == order.updated_at
    assert read.order.created_at.utcoffset() == timedelta(0)
    assert read.order.created_at.microsecond == order.created_at.microsecond


def test_another_users_order_is_not_found() -> None:
    # given
    owner, other = UserFactory.create(username="alice"), UserFactory.create(username="bob")
    order = _order(owner, LINES[:2])

    # when, then: as the ORM's read
    with pytest.raises(OrderNotFound):
        order_read_for_user(order_id=order.id, user=other)
    with pytest.raises(OrderNotFound):
        _orm(order.id, other)


def test_a_missing_order_is_not_found_even_by_staff() -> None:
    user, staff = UserFactory.create(username="alice"), StaffFactory.create()
    _order(user, LINES[:1])

    for reader in (user, staff):
        with pytest.raises(OrderNotFound):
            order_read_for_user(order_id="ord_" + "0" * 24, user=reader)


def test_staff_read_another_users_order_as_the_orm_reads_it() -> None:
    # given
    owner, staff = UserFactory.create(username="alice"), StaffFactory.create()
    order = _order(owner, LINES[1:4])

    # when
    read = order_read_for_user(order_id=order.id, user=staff)

    # then
    assert read.order.user_id == owner.pk
    assert list(read.lines) == [pid for pid, _, _ in LINES[1:4]]
    _same_as_orm(read, order.id, staff)


def test_a_cancelled_order_reads_as_the_orm_reads_it() -> None:
    # given: cancelled through the services (its lines stay, its version moved on)
    user = UserFactory.create(username="alice")
    order = place_order(user=user, lines={"SKU-M": 2, "SKU-A": 1}, status="cancelled")

    # when
    read = order_read_for_user(order_id=order.id, user=user)

    # then
    assert read.order.status == OrderStatus.CANCELLED
    assert read.order.version == order.version > 1
    assert read.lines == {"SKU-M": 2, "SKU-A": 1}
    assert list(read.lines) == ["SKU-M", "SKU-A"]
    _same_as_orm(read, order.id, user)


def test_an_order_is_read_in_one_statement_on_postgresql(django_assert_num_queries: Any) -> None:
    user = UserFactory.create(username="alice")
    order = _order(user, LINES)

    # SQLite: the ORM's get() and its prefetch of the items.
    with django_assert_num_queries(1 if connection.vendor == "postgresql" else 2):
        order_read_for_user(order_id=order.id, user=user)
