"""The validation tables of SPEC §1 (order bodies) and §6 (product bodies).

Each invalid case is `(body, details)`: the exact `details` a 400 carries. The unit tests run them
through the serializers; the API tests send the same bodies over HTTP, so a faster parser in
front of the serializer can never accept what the table refuses.
"""

from typing import Any

import pytest

ID_RULE = "Must be 1 to 64 characters of A-Z a-z 0-9 . _ -"
NOT_INT = "Must be a JSON integer."
NULL = "This field may not be null."
REQUIRED = "This field is required."
UNKNOWN = "Unknown field."
AT_LEAST_ONE = "Send at least one of name, product_count, price, low_stock_threshold, restock."
RESTOCK_ALONE = "Send restock alone, without name, product_count, price or low_stock_threshold."


def line(**changes: Any) -> dict[str, Any]:
    return {"product_id": "SKU-1", "item_count": 1, **changes}


def one_line(**changes: Any) -> dict[str, Any]:
    return {"products": [line(**changes)]}


def _count(path: str, message: str) -> dict[str, list[str]]:
    return {path: [message]}


# --- POST /orders ---------------------------------------------------------------------------

PLACE_INVALID = [
    # item_count: a JSON integer, 1 to 10,000
    pytest.param(
        one_line(item_count=True), _count("products[0].item_count", NOT_INT), id="count-true"
    ),
    pytest.param(
        one_line(item_count=False), _count("products[0].item_count", NOT_INT), id="count-false"
    ),
    pytest.param(
        one_line(item_count=1.0), _count("products[0].item_count", NOT_INT), id="count-1.0"
    ),
    pytest.param(
        one_line(item_count=2.5), _count("products[0].item_count", NOT_INT), id="count-2.5"
    ),
    pytest.param(
        one_line(item_count="3"), _count("products[0].item_count", NOT_INT), id="count-string"
    ),
    pytest.param(
        one_line(item_count=[1]), _count("products[0].item_count", NOT_INT), id="count-list"
    ),
    pytest.param(
        one_line(item_count=0),
        _count("products[0].item_count", "Ensure this value is greater than or equal to 1."),
        id="count-0",
    ),
    pytest.param(
        one_line(item_count=-1),
        _count("products[0].item_count", "Ensure this value is greater than or equal to 1."),
        id="count-negative",
    ),
    pytest.param(
        one_line(item_count=10_001),
        _count("products[0].item_count", "Ensure this value is less than or equal to 10000."),
        id="count-10001",
    ),
    pytest.param(
        one_line(item_count=10**30),
        _count("products[0].item_count", "Ensure this value is less than or equal to 10000."),
        id="count-huge",
    ),
    pytest.param(
        one_line(item_count=None), _count("products[0].item_count", NULL), id="count-null"
    ),
    pytest.param(
        {"products": [{"product_id": "SKU-1"}]},
        _count("products[0].item_count", REQUIRED),
        id="count-missing",
    ),
    # product_id: 1-64 characters of A-Z a-z 0-9 . _ -
    pytest.param(
        one_line(product_id="SKU 1"), _count("products[0].product_id", ID_RULE), id="id-space"
    ),
    pytest.param(
        one_line(product_id="SKU/1"), _count("products[0].product_id", ID_RULE), id="id-slash"
    ),
    pytest.param(
        one_line(product_id="SKÜ-1"), _count("products[0].product_id", ID_RULE), id="id-non-ascii"
    ),
    pytest.param(
        one_line(product_id="SKU-1\n"), _count("products[0].product_id", ID_RULE), id="id-newline"
    ),
    pytest.param(
        one_line(product_id="a" * 65), _count("products[0].product_id", ID_RULE), id="id-65-chars"
    ),
    pytest.param(
        one_line(product_id=""),
        _count("products[0].product_id", "This field may not be blank."),
        id="id-empty",
    ),
    pytest.param(
        one_line(product_id=12), _count("products[0].product_id", ID_RULE), id="id-integer"
    ),
    pytest.param(
        one_line(product_id=["SKU-1"]), _count("products[0].product_id", ID_RULE), id="id-list"
    ),
    pytest.param(one_line(product_id=None), _count("products[0].product_id", NULL), id="id-null"),
    pytest.param(
        {"products": [{"item_count": 1}]},
        _count("products[0].product_id", REQUIRED),
        id="id-missing",
    ),
    # products: a list of 1 to 100 lines, counted as sent
    pytest.param(
        {"products": []},
        _count("products", "Ensure this field has at least 1 elements."),
        id="no-lines",
    ),
    pytest.param(
        {"products": [line()] * 101},
        _count("products", "Ensure this field has no more than 100 elements."),
        id="101-lines-of-one-product",
    ),
    pytest.param({}, _count("products", REQUIRED), id="products-missing"),
    pytest.param({"products": None}, _count("products", NULL), id="products-null"),
    pytest.param(
        {"products": line()},
        _count("products", 'Expected a list of items but got type "dict".'),
        id="products-object",
    ),
    pytest.param(
        {"products": "SKU-1"},
        _count("products", 'Expected a list of items but got type "str".'),
        id="products-string",
    ),
    # lines are objects with exactly product_id and item_count
    pytest.param(
        {"products": ["SKU-1"]},
        _count("products[0]", "Invalid data. Expected a dictionary, but got str."),
        id="line-string",
    ),
    pytest.param(
        {"products": [["SKU-1", 1]]},
        _count("products[0]", "Invalid data. Expected a dictionary, but got list."),
        id="line-list",
    ),
    pytest.param({"products": [None]}, _count("products[0]", NULL), id="line-null"),
    pytest.param(one_line(price=3), _count("products[0].price", UNKNOWN), id="unknown-line-key"),
    pytest.param(
        {"products": [line(), line(item_count=0, note="x")]},
        {
            "products[1].item_count": ["Ensure this value is greater than or equal to 1."],
            "products[1].note": [UNKNOWN],
        },
        id="errors-of-a-later-line",
    ),
    # top level
    pytest.param({**one_line(), "coupon": "X"}, _count("coupon", UNKNOWN), id="unknown-top-key"),
    pytest.param(
        {"coupon": "X"},
        {"products": [REQUIRED], "coupon": [UNKNOWN]},
        id="unknown-key-and-missing-products",
    ),
    pytest.param(
        {**one_line(), "fulfillment": "some"},
        _count("fulfillment", "Must be one of: partial, all_or_nothing."),
        id="fulfillment-unknown",
    ),
    pytest.param(
        {**one_line(), "fulfillment": "PARTIAL"},
        _count("fulfillment", "Must be one of: partial, all_or_nothing."),
        id="fulfillment-case",
    ),
    pytest.param(
        {**one_line(), "fulfillment": 1},
        _count("fulfillment", "Must be one of: partial, all_or_nothing."),
        id="fulfillment-integer",
    ),
    pytest.param(
        {**one_line(), "fulfillment": None}, _count("fulfillment", NULL), id="fulfillment-null"
    ),
    pytest.param(
        [line()],
        _count("body", "Invalid data. Expected a dictionary, but got list."),
        id="body-list",
    ),
    pytest.param(
        "SKU-1",
        _count("body", "Invalid data. Expected a dictionary, but got str."),
        id="body-string",
    ),
    pytest.param(
        7, _count("body", "Invalid data. Expected a dictionary, but got int."), id="body-number"
    ),
]

# (body, merged lines, partial)
PLACE_VALID = [
    pytest.param(one_line(), {"SKU-1": 1}, True, id="one-line-default-partial"),
    pytest.param(one_line(item_count=10_000), {"SKU-1": 10_000}, True, id="count-10000"),
    pytest.param(one_line(product_id="a" * 64), {"a" * 64: 1}, True, id="id-64-chars"),
    pytest.param(one_line(product_id="A.z_0-9"), {"A.z_0-9": 1}, True, id="id-all-classes"),
    pytest.param({"products": [line()] * 100}, {"SKU-1": 100}, True, id="100-lines-merged"),
    pytest.param(
        {"products": [line(item_count=2), line(product_id="SKU-2"), line(item_count=3)]},
        {"SKU-1": 5, "SKU-2": 1},
        True,
        id="duplicates-merged-first-seen-order",
    ),
    pytest.param(
        {**one_line(), "fulfillment": "all_or_nothing"}, {"SKU-1": 1}, False, id="all-or-nothing"
    ),
    pytest.param({**one_line(), "fulfillment": "partial"}, {"SKU-1": 1}, True, id="partial"),
]

# --- PATCH /orders/{id} (lines) -------------------------------------------------------------

EDIT_INVALID = [
    pytest.param(
        one_line(item_count=-1),
        _count("products[0].item_count", "Ensure this value is greater than or equal to 0."),
        id="count-negative",
    ),
    pytest.param(
        one_line(item_count=10_001),
        _count("products[0].item_count", "Ensure this value is less than or equal to 10000."),
        id="count-10001",
    ),
    pytest.param(
        one_line(item_count=True), _count("products[0].item_count", NOT_INT), id="count-true"
    ),
    pytest.param(
        one_line(item_count=1.0), _count("products[0].item_count", NOT_INT), id="count-1.0"
    ),
    pytest.param(
        one_line(item_count="0"), _count("products[0].item_count", NOT_INT), id="count-string"
    ),
    pytest.param(
        one_line(product_id="a" * 65), _count("products[0].product_id", ID_RULE), id="id-65-chars"
    ),
    pytest.param(
        {"products": []},
        _count("products", "Ensure this field has at least 1 elements."),
        id="no-lines",
    ),
    pytest.param(
        {"products": [line()] * 101},
        _count("products", "Ensure this field has no more than 100 elements."),
        id="101-lines",
    ),
    pytest.param(one_line(extra=1), _count("products[0].extra", UNKNOWN), id="unknown-line-key"),
    pytest.param(
        {**one_line(), "fulfillment": "partial"}, _count("fulfillment", UNKNOWN), id="fulfillment"
    ),
    pytest.param({}, _count("body", "Send either products or order_status."), id="empty-object"),
    pytest.param(
        [line()],
        _count("body", "Invalid data. Expected a dictionary, but got list."),
        id="body-list",
    ),
]

EDIT_VALID = [
    pytest.param(one_line(item_count=0), {"SKU-1": 0}, id="count-0-removes"),
    pytest.param(one_line(item_count=10_000), {"SKU-1": 10_000}, id="count-10000"),
    pytest.param({"products": [line()] * 100}, {"SKU-1": 100}, id="100-lines"),
]

# Staff status changes; bodies a staff user sends (a non-staff one gets 403 before validation).
STATUS_INVALID = [
    pytest.param(
        {"order_status": "lost"},
        _count(
            "order_status", "Must be one of: placed, processing, shipped, delivered, cancelled."
        ),
        id="unknown-status",
    ),
    pytest.param(
        {"order_status": 1},
        _count(
            "order_status", "Must be one of: placed, processing, shipped, delivered, cancelled."
        ),
        id="status-integer",
    ),
    pytest.param({"order_status": None}, _count("order_status", NULL), id="status-null"),
    pytest.param(
        {**one_line(), "order_status": "shipped"},
        _count("body", "Send either products or order_status."),
        id="status-and-products",
    ),
]

# --- POST /products and PATCH /products/{id} ------------------------------------------------


def product(**changes: Any) -> dict[str, Any]:
    return {"product_id": "NEW-1", "name": "Kettle", "product_count": 5, **changes}


PRODUCT_CREATE_INVALID = [
    pytest.param(product(product_count=True), _count("product_count", NOT_INT), id="count-true"),
    pytest.param(product(product_count=1.0), _count("product_count", NOT_INT), id="count-1.0"),
    pytest.param(product(product_count="3"), _count("product_count", NOT_INT), id="count-string"),
    pytest.param(product(product_count=None), _count("product_count", NULL), id="count-null"),
    pytest.param(
        product(product_count=-1),
        _count("product_count", "Ensure this value is greater than or equal to 0."),
        id="count-negative",
    ),
    pytest.param(
        product(product_count=1_000_000_001),
        _count("product_count", "Ensure this value is less than or equal to 1000000000."),
        id="count-over-a-billion",
    ),
    pytest.param(product(name=""), _count("name", "This field may not be blank."), id="name-empty"),
    pytest.param(
        product(name="n" * 201),
        _count("name", "Ensure this field has no more than 200 characters."),
        id="name-201-chars",
    ),
    pytest.param(product(name=5), _count("name", "Must be a JSON string."), id="name-integer"),
    pytest.param(product(name=None), _count("name", NULL), id="name-null"),
    pytest.param({"product_id": "NEW-1"}, _count("name", REQUIRED), id="name-missing"),
    pytest.param({"name": "Kettle"}, _count("product_id", REQUIRED), id="id-missing"),
    pytest.param(product(product_id="NEW 1"), _count("product_id", ID_RULE), id="id-space"),
    pytest.param(product(product_id="a" * 65), _count("product_id", ID_RULE), id="id-65-chars"),
    pytest.param(
        product(product_id=""), _count("product_id", "This field may not be blank."), id="id-empty"
    ),
    pytest.param(product(product_id=7), _count("product_id", ID_RULE), id="id-integer"),
    pytest.param(product(restock=1), _count("restock", UNKNOWN), id="unknown-key"),
    pytest.param(
        [product()],
        _count("body", "Invalid data. Expected a dictionary, but got list."),
        id="body-list",
    ),
]

# (body, validated data)
PRODUCT_CREATE_VALID = [
    pytest.param(product(), product(), id="all-fields"),
    pytest.param(product(product_count=0), product(product_count=0), id="count-0"),
    pytest.param(
        product(product_count=1_000_000_000),
        product(product_count=1_000_000_000),
        id="count-a-billion",
    ),
    pytest.param(
        {"product_id": "NEW-1", "name": "Kettle"},
        product(product_count=0),
        id="count-defaults-to-0",
    ),
    pytest.param(product(name="n" * 200), product(name="n" * 200), id="name-200-chars"),
    pytest.param(product(name="n"), product(name="n"), id="name-1-char"),
    pytest.param(product(product_id="a" * 64), product(product_id="a" * 64), id="id-64-chars"),
]

PRODUCT_PATCH_INVALID = [
    pytest.param(
        {"restock": 0},
        _count("restock", "Ensure this value is greater than or equal to 1."),
        id="restock-0",
    ),
    pytest.param(
        {"restock": -5},
        _count("restock", "Ensure this value is greater than or equal to 1."),
        id="restock-negative",
    ),
    pytest.param(
        {"restock": 1_000_000_001},
        _count("restock", "Ensure this value is less than or equal to 1000000000."),
        id="restock-over-a-billion",
    ),
    pytest.param({"restock": True}, _count("restock", NOT_INT), id="restock-true"),
    pytest.param({"restock": 1.0}, _count("restock", NOT_INT), id="restock-1.0"),
    pytest.param({"restock": "3"}, _count("restock", NOT_INT), id="restock-string"),
    pytest.param({"restock": None}, _count("restock", NULL), id="restock-null"),
    pytest.param(
        {"restock": 1, "name": "x"},
        _count("body", RESTOCK_ALONE),
        id="restock-with-name",
    ),
    pytest.param(
        {"restock": 1, "product_count": 3},
        _count("body", RESTOCK_ALONE),
        id="restock-with-count",
    ),
    pytest.param({}, _count("body", AT_LEAST_ONE), id="empty-object"),
    pytest.param({"product_count": True}, _count("product_count", NOT_INT), id="count-true"),
    pytest.param({"product_count": "3"}, _count("product_count", NOT_INT), id="count-string"),
    pytest.param(
        {"product_count": -1},
        _count("product_count", "Ensure this value is greater than or equal to 0."),
        id="count-negative",
    ),
    pytest.param(
        {"product_count": 1_000_000_001},
        _count("product_count", "Ensure this value is less than or equal to 1000000000."),
        id="count-over-a-billion",
    ),
    pytest.param({"name": ""}, _count("name", "This field may not be blank."), id="name-empty"),
    pytest.param(
        {"name": "n" * 201},
        _count("name", "Ensure this field has no more than 200 characters."),
        id="name-201-chars",
    ),
    pytest.param({"name": ["x"]}, _count("name", "Must be a JSON string."), id="name-list"),
    pytest.param({"product_id": "OTHER"}, _count("product_id", UNKNOWN), id="id-not-editable"),
]

PRODUCT_PATCH_VALID = [
    pytest.param({"restock": 1}, id="restock-1"),
    pytest.param({"restock": 1_000_000_000}, id="restock-a-billion"),
    pytest.param({"product_count": 0}, id="count-0"),
    pytest.param({"product_count": 1_000_000_000}, id="count-a-billion"),
    pytest.param({"name": "n" * 200}, id="name-200-chars"),
    pytest.param({"name": "Kettle", "product_count": 3}, id="name-and-count"),
]
