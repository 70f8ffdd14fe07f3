"""A fast, exact acceptor for the common case of POST /orders: a body that is entirely valid.

It answers only "valid, and here is the result" or "not sure": anything it does not accept goes
to the DRF serializer, which stays the one source of error messages. So it must never accept a
body the serializer would reject, nor read one differently (a property test holds it to that).
It exists because the serializer costs more than the rest of placing an order.
"""

import re
from typing import Any

from orderservice.common.ids import PRODUCT_ID_REGEX
from orderservice.orders.lines import MAX_ITEM_COUNT, MAX_LINES, merge_lines

_PRODUCT_ID = re.compile(PRODUCT_ID_REGEX)
_FULFILLMENTS = ("partial", "all_or_nothing")
_TOP_LEVEL_KEYS = frozenset({"products", "fulfillment"})


def place_body_accept(data: Any) -> tuple[dict[str, int], bool] | None:
    """(merged lines, partial) for a valid order body, or None to let the serializer decide."""
    if type(data) is not dict or not data.keys() <= _TOP_LEVEL_KEYS:
        return None
    products = data.get("products")
    fulfillment = data.get("fulfillment", "partial")
    if type(products) is not list or not 1 <= len(products) <= MAX_LINES:
        return None
    if type(fulfillment) is not str or fulfillment not in _FULFILLMENTS:
        return None
    lines = []
    for line in products:
        if type(line) is not dict or len(line) != 2:
            return None
        product_id = line.get("product_id")
        item_count = line.get("item_count")
        if type(product_id) is not str or not _PRODUCT_ID.fullmatch(product_id):
            return None
        if type(item_count) is not int or not 1 <= item_count <= MAX_ITEM_COUNT:
            return None
        lines.append((product_id, item_count))
    return merge_lines(lines), fulfillment == "partial"
