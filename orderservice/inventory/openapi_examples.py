"""The examples of the product and stock-ledger operations, built with the views' body functions."""

from datetime import UTC, datetime
from decimal import Decimal

from drf_spectacular.utils import OpenApiExample

from orderservice.api import errors, openapi
from orderservice.inventory.bodies import movement_body, product_body
from orderservice.inventory.exceptions import StockNotAsExpected, StockWouldGoNegative
from orderservice.inventory.models import MovementReason, Product, StockMovement

BAD_PRODUCT_ID = openapi.error_example(
    errors.INVALID_REQUEST,
    "Path product_id not a valid SKU",
    name="bad-product-id",
    details={"product_id": ["Must be 1 to 64 characters of A-Z a-z 0-9 . _ -"]},
)
PRODUCT_EXISTS = openapi.error_example(
    errors.CONFLICT,
    "product_id taken",
    name="product-exists",
    message="A product with this product_id already exists.",
)
BAD_PRICE = openapi.error_example(
    errors.INVALID_REQUEST,
    "A price that is not a decimal string with at most 2 places",
    name="bad-price",
    details={
        "price": [
            'Must be a JSON string holding a decimal from "0" to "1000000.00" with at most 2 '
            'places, e.g. "12.50".'
        ]
    },
)
BAD_FILTER = openapi.error_example(
    errors.INVALID_REQUEST,
    "Unknown filter value",
    name="bad-filter",
    details={"stock_status": ["Must be one of: out_of_stock, low_stock, in_stock."]},
)
BAD_REASON_FILTER = openapi.error_example(
    errors.INVALID_REQUEST,
    "Unknown reason",
    name="bad-reason",
    details={"reason": [f"Must be one of: {', '.join(MovementReason.values)}."]},
)
BAD_ADJUSTMENT = openapi.error_example(
    errors.INVALID_REQUEST,
    "Neither or both of delta and set_to",
    name="bad-adjustment",
    details={"body": ["Send exactly one of delta and set_to."]},
)
COUNT_CHANGED = openapi.error_example(
    errors.CONFLICT,
    "The stock is not the expected_count",
    name="count-changed",
    message=str(StockNotAsExpected("SKU-1", 96)),
    details={"product_count": 96},
)
BELOW_ZERO = openapi.error_example(
    errors.CONFLICT,
    "The delta would take the stock below 0",
    name="below-zero",
    message=str(StockWouldGoNegative("SKU-1", 2)),
    details={"product_count": 2},
)

# Answers are built with the body functions the views answer with. The create example names a
# product the demo data (`load_demo`: SKU-1 to SKU-5) lacks: "Try it out" creates it, not a 409.
_PRODUCT = product_body(
    Product(
        product_id="SKU-1", name="Espresso beans, 1 kg", product_count=100, price=Decimal("18.50")
    )
)
_NEW_PRODUCT = product_body(
    Product(product_id="SKU-6", name="Blue mug", product_count=40, price=Decimal("12.50"))
)
PRODUCT = OpenApiExample("product", value=_PRODUCT, response_only=True, status_codes=["200"])
PRODUCT_CREATED = OpenApiExample(
    "product", value=_NEW_PRODUCT, response_only=True, status_codes=["201"]
)
PRODUCT_PAGE = OpenApiExample(
    "page",
    value={"results": [_PRODUCT], "next": None},
    response_only=True,
    status_codes=["200"],
)
PRODUCT_CREATE_REQUEST = OpenApiExample(
    "create",
    value={"product_id": "SKU-6", "name": "Blue mug", "product_count": 40, "price": "12.50"},
    request_only=True,
)
PRODUCT_RESTOCK_REQUEST = OpenApiExample(
    "restock", summary="Add 25 units (safe under concurrent orders)", value={"restock": 25},
    request_only=True,
)  # fmt: skip
PRODUCT_SET_REQUEST = OpenApiExample(
    "set", summary="Set name and stock", value={"name": "Blue mug, large", "product_count": 10},
    request_only=True,
)  # fmt: skip
PRODUCT_PRICE_REQUEST = OpenApiExample(
    "price", summary="Set the price and the low-stock threshold",
    value={"price": "19.90", "low_stock_threshold": 20}, request_only=True,
)  # fmt: skip

_MOVEMENT = StockMovement(
    id=42,
    product_id="SKU-1",
    delta=-3,
    count_after=97,
    reason=MovementReason.DAMAGED,
    actor="boss",
    note="Dropped in the warehouse",
    created_at=datetime(2026, 11, 25, 10, 0, tzinfo=UTC),
)
_RESTOCK = StockMovement(
    id=41,
    product_id="SKU-1",
    delta=25,
    count_after=100,
    reason=MovementReason.RESTOCK,
    actor="boss",
    created_at=datetime(2026, 11, 24, 16, 30, tzinfo=UTC),
)
MOVEMENT_PAGE = OpenApiExample(
    "page",
    value=openapi.as_sent(
        {"results": [movement_body(_MOVEMENT), movement_body(_RESTOCK)], "next": None}
    ),
    response_only=True,
    status_codes=["200"],
)
ADJUST_BY_REQUEST = OpenApiExample(
    "delta", summary="3 units damaged",
    value={"delta": -3, "reason": "damaged", "note": "Dropped in the warehouse"},
    request_only=True,
)  # fmt: skip
ADJUST_TO_REQUEST = OpenApiExample(
    "set_to", summary="A stock-take: 97 counted, applied only if the stock is still 100",
    value={"set_to": 97, "reason": "correction", "expected_count": 100}, request_only=True,
)  # fmt: skip
_ADJUSTED_PRODUCT = Product(
    product_id="SKU-1", name="Espresso beans, 1 kg", product_count=97, price=Decimal("18.50")
)
ADJUSTED = OpenApiExample(
    "adjusted",
    value=openapi.as_sent(
        {"movement": movement_body(_MOVEMENT), "product": product_body(_ADJUSTED_PRODUCT)}
    ),
    response_only=True,
    status_codes=["201"],
)
