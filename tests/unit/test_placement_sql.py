"""The one-statement order's SQL and parameters fit together (no database needed)."""

import re
from datetime import UTC, datetime

import pytest

from orderservice.orders import placement
from orderservice.orders.models import Order


def test_every_placeholder_of_the_statement_has_exactly_one_parameter() -> None:
    # given
    now = datetime(2031, 3, 1, tzinfo=UTC)
    order = Order(user_id=1, created_at=now, updated_at=now)

    # when
    params = placement._place_order_params(order, {"A": 1, "B": 2}, partial=True)

    # then
    assert set(re.findall(r"%\((\w+)\)s", placement._PLACE_ORDER)) == set(params)


def test_a_parameter_name_used_by_two_pieces_is_refused() -> None:
    with pytest.raises(ValueError, match="stock_ids"):
        placement._params_joined({"stock_ids": [], "order_id": "x"}, {"stock_ids": ["A"]})
