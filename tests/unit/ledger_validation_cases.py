"""The validation tables of SPEC §10 (price) and §11 (threshold, adjustments, filters).

Each invalid case is `(body, details)`: the exact `details` a 400 carries. The unit tests run
them through the serializers; the API tests send the same bodies over HTTP.
"""

from typing import Any

import pytest

from tests.unit.validation_cases import NOT_INT, NULL, REQUIRED, UNKNOWN

PRICE_RULE = (
    'Must be a JSON string holding a decimal from "0" to "1000000.00" with at most 2 places, '
    'e.g. "12.50".'
)
REASONS = "Must be one of: restock, correction, damaged, returned, found, lost."
ONE_OF = "Send exactly one of delta and set_to."


def _field(path: str, message: str) -> dict[str, list[str]]:
    return {path: [message]}


# (price as sent, id): every one is a 400 naming `price`, on POST and on PATCH.
PRICE_INVALID = [
    pytest.param(12.5, id="json-number"),
    pytest.param(12, id="json-integer"),
    pytest.param(True, id="true"),
    pytest.param(["12.50"], id="list"),
    pytest.param({"amount": "12.50"}, id="object"),
    pytest.param("1e3", id="exponent"),
    pytest.param("-1", id="negative"),
    pytest.param("-0", id="minus-zero"),
    pytest.param("+1", id="plus-sign"),
    pytest.param("12.345", id="3-places"),
    pytest.param("0.001", id="tenth-of-a-cent"),
    pytest.param(" 1", id="leading-space"),
    pytest.param("1 ", id="trailing-space"),
    pytest.param("12.5\n", id="trailing-newline"),
    pytest.param("1,00", id="comma"),
    pytest.param("1_000", id="underscore"),
    pytest.param("NaN", id="nan"),
    pytest.param("Infinity", id="infinity"),
    pytest.param("", id="empty"),
    pytest.param("12.", id="point-without-places"),
    pytest.param(".5", id="no-integer-part"),
    pytest.param("01", id="leading-zero"),
    pytest.param("\u0661\u0662", id="arabic-indic-digits"),
    pytest.param("1000000.01", id="over-a-million"),
    pytest.param("10000000", id="ten-million"),
    pytest.param("9" * 40, id="huge"),
]

# (price as sent, as answered)
PRICE_VALID = [
    pytest.param("0", "0.00", id="0"),
    pytest.param("0.01", "0.01", id="a-cent"),
    pytest.param("0.5", "0.50", id="one-place"),
    pytest.param("12.5", "12.50", id="12.5"),
    pytest.param("12.50", "12.50", id="12.50"),
    pytest.param("999999.99", "999999.99", id="just-under-a-million"),
    pytest.param("1000000", "1000000.00", id="a-million"),
    pytest.param("1000000.0", "1000000.00", id="a-million-one-place"),
    pytest.param("1000000.00", "1000000.00", id="a-million-two-places"),
]

THRESHOLD_INVALID = [
    pytest.param(-1, "Ensure this value is greater than or equal to 0.", id="negative"),
    pytest.param(
        1_000_000_001,
        "Ensure this value is less than or equal to 1000000000.",
        id="over-a-billion",
    ),
    pytest.param(True, NOT_INT, id="true"),
    pytest.param(1.0, NOT_INT, id="1.0"),
    pytest.param("3", NOT_INT, id="string"),
    pytest.param(None, NULL, id="null"),
]


# --- POST /products/{id}/adjustments ----------------------------------------------------------


def adjust(**changes: Any) -> dict[str, Any]:
    return {"delta": -2, "reason": "damaged", **changes}


ADJUSTMENT_INVALID = [
    pytest.param({}, _field("reason", REQUIRED), id="empty-object"),
    pytest.param({"reason": "found"}, _field("body", ONE_OF), id="neither-delta-nor-set_to"),
    pytest.param(adjust(set_to=3), _field("body", ONE_OF), id="both-delta-and-set_to"),
    pytest.param(adjust(delta=0), _field("delta", "Must not be 0."), id="delta-0"),
    pytest.param(
        adjust(delta=1_000_000_001),
        _field("delta", "Ensure this value is less than or equal to 1000000000."),
        id="delta-over-a-billion",
    ),
    pytest.param(
        adjust(delta=-1_000_000_001),
        _field("delta", "Ensure this value is greater than or equal to -1000000000."),
        id="delta-under-minus-a-billion",
    ),
    pytest.param(adjust(delta=True), _field("delta", NOT_INT), id="delta-true"),
    pytest.param(adjust(delta=1.0), _field("delta", NOT_INT), id="delta-1.0"),
    pytest.param(adjust(delta="-2"), _field("delta", NOT_INT), id="delta-string"),
    pytest.param(adjust(delta=None), _field("delta", NULL), id="delta-null"),
    pytest.param(
        {"set_to": -1, "reason": "found"},
        _field("set_to", "Ensure this value is greater than or equal to 0."),
        id="set_to-negative",
    ),
    pytest.param(
        {"set_to": 1_000_000_001, "reason": "found"},
        _field("set_to", "Ensure this value is less than or equal to 1000000000."),
        id="set_to-over-a-billion",
    ),
    pytest.param({"set_to": "3", "reason": "found"}, _field("set_to", NOT_INT), id="set_to-string"),
    pytest.param(adjust(reason="initial"), _field("reason", REASONS), id="reason-initial"),
    pytest.param(adjust(reason="order_placed"), _field("reason", REASONS), id="reason-of-orders"),
    pytest.param(adjust(reason="DAMAGED"), _field("reason", REASONS), id="reason-case"),
    pytest.param(adjust(reason=1), _field("reason", REASONS), id="reason-integer"),
    pytest.param(adjust(reason=None), _field("reason", NULL), id="reason-null"),
    pytest.param({"delta": 1}, _field("reason", REQUIRED), id="reason-missing"),
    pytest.param(
        adjust(note="n" * 201),
        _field("note", "Ensure this field has no more than 200 characters."),
        id="note-201-chars",
    ),
    pytest.param(adjust(note=5), _field("note", "Must be a JSON string."), id="note-integer"),
    pytest.param(
        adjust(expected_count=-1),
        _field("expected_count", "Ensure this value is greater than or equal to 0."),
        id="expected-negative",
    ),
    pytest.param(
        adjust(expected_count="5"), _field("expected_count", NOT_INT), id="expected-string"
    ),
    pytest.param(adjust(expected_count=None), _field("expected_count", NULL), id="expected-null"),
    pytest.param(adjust(product_id="SKU-1"), _field("product_id", UNKNOWN), id="unknown-key"),
    pytest.param(
        [adjust()],
        _field("body", "Invalid data. Expected a dictionary, but got list."),
        id="body-list",
    ),
]

# (body, what product_adjust is called with besides product_id and actor)
ADJUSTMENT_VALID = [
    pytest.param(adjust(), {"delta": -2, "reason": "damaged"}, id="delta"),
    pytest.param(
        adjust(delta=1_000_000_000, reason="found"),
        {"delta": 1_000_000_000, "reason": "found"},
        id="delta-a-billion",
    ),
    pytest.param({"set_to": 0, "reason": "lost"}, {"set_to": 0, "reason": "lost"}, id="set_to-0"),
    pytest.param(
        adjust(note="n" * 200, expected_count=0),
        {"delta": -2, "reason": "damaged", "note": "n" * 200, "expected_count": 0},
        id="note-200-chars-expected-0",
    ),
    pytest.param(
        adjust(note=None), {"delta": -2, "reason": "damaged", "note": None}, id="note-null"
    ),
    pytest.param(adjust(note=""), {"delta": -2, "reason": "damaged", "note": ""}, id="note-empty"),
]
