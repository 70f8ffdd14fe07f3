"""The one-statement order's SQL and parameters fit together (no database needed)."""

import re
from datetime import UTC, datetime

import pytest

from orderservice.events import outbox_sql
from orderservice.inventory import services, stock_sql
from orderservice.inventory.models import MovementReason
from orderservice.orders import placement
from orderservice.orders.models import Order


def test_every_placeholder_of_the_statement_has_exactly_one_parameter() -> None:
    # given
    now = datetime(2031, 3, 1, tzinfo=UTC)
    order = Order(user_id=1, created_at=now, updated_at=now)

    # when
    params = placement._place_order_params(order, "alice", {"A": 1, "B": 2}, partial=True)

    # then
    assert set(re.findall(r"%\((\w+)\)s", placement._PLACE_ORDER.sql)) == set(params)


def test_every_placeholder_of_the_statement_with_events_has_exactly_one_parameter() -> None:
    # given
    now = datetime(2031, 3, 1, tzinfo=UTC)
    order = Order(user_id=1, created_at=now, updated_at=now)

    # when
    params = placement._params_joined(
        placement._place_order_params(order, "alice", {"A": 1}, partial=True),
        placement._place_order_events_params(order, "alice"),
    )

    # then
    assert set(re.findall(r"%\((\w+)\)s", placement._PLACE_ORDER_WITH_EVENTS.sql)) == set(params)


def test_every_placeholder_of_the_stock_exchange_has_exactly_one_parameter() -> None:
    # when
    now = datetime(2031, 3, 1, tzinfo=UTC)
    params = stock_sql.params(
        take={"A": 1},
        give_back={"B": 2},
        partial=False,
        now=now,
        reason=MovementReason.ORDER_EDITED,
        order_id=None,
        actor=None,
    )

    # then
    assert set(re.findall(r"%\((\w+)\)s", services._EXCHANGE.sql)) == set(params)
    assert all(name.startswith("stock_") for name in params)
    with_events = {**params, **stock_sql.crossing_params(), **outbox_sql.params(created_at=now)}
    assert set(re.findall(r"%\((\w+)\)s", services._EXCHANGE_WITH_EVENTS.sql)) == set(with_events)


def test_a_parameter_name_used_by_two_pieces_is_refused() -> None:
    with pytest.raises(ValueError, match="stock_ids"):
        placement._params_joined({"stock_ids": [], "order_id": "x"}, {"stock_ids": ["A"]})
