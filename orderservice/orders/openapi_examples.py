"""The examples of the order endpoints' OpenAPI document: requests, answers and errors."""

from datetime import UTC, datetime
from decimal import Decimal

from drf_spectacular.utils import OpenApiExample

from orderservice.api import errors, openapi
from orderservice.api.pagination import cursor_for
from orderservice.inventory.exceptions import Shortage
from orderservice.orders import bodies
from orderservice.orders.lines import LineChange
from orderservice.orders.models import Order
from orderservice.orders.status import OrderStatus

# --- error examples --------------------------------------------------------------------------

UNKNOWN_PRODUCTS = openapi.error_example(
    errors.INVALID_REQUEST,
    "A product_id that does not exist",
    name="unknown-products",
    details={"unknown_products": ["SKU-404"]},
)
BAD_ORDER_ID = openapi.error_example(
    errors.INVALID_REQUEST,
    "Path order_id not of the server's format",
    name="bad-order-id",
    details={"order_id": ["Not an order id of this service."]},
)
EMPTY_ORDER = openapi.error_example(
    errors.INVALID_REQUEST,
    "The change would leave the order without items",
    name="empty-order",
    details={
        "products": [
            "The change would leave the order without items; cancel it with DELETE instead."
        ]
    },
)
OUT_OF_STOCK_PLACE = openapi.error_example(
    errors.OUT_OF_STOCK,
    "Stock cannot fill the order (all_or_nothing, or no line fillable)",
    name="out-of-stock",
    details={"out_of_stock": [{"product_id": "SKU-5", "requested": 5, "available": 2}]},
)
OUT_OF_STOCK_EDIT = openapi.error_example(
    errors.OUT_OF_STOCK,
    "Stock cannot fill an increase (requested: the extra units needed)",
    name="out-of-stock",
    details={"out_of_stock": [{"product_id": "SKU-1", "requested": 3, "available": 1}]},
)
EDIT_CONFLICT = openapi.error_example(
    errors.CONFLICT,
    "Order can no longer be edited",
    name="not-editable",
    message="Order is shipped and can no longer be edited.",
)
TRANSITION_CONFLICT = openapi.error_example(
    errors.CONFLICT,
    "Status transition outside the pipeline",
    name="bad-transition",
    message="Order cannot move from placed to delivered.",
)
CANCEL_CONFLICT = openapi.error_example(
    errors.CONFLICT,
    "Order already cancelled",
    name="already-cancelled",
    message="Order is already cancelled.",
)
CANCEL_SHIPPED_CONFLICT = openapi.error_example(
    errors.CONFLICT,
    "Order already shipped",
    name="already-shipped",
    message="Order is already shipped and can no longer be cancelled.",
)

# --- request and response examples -----------------------------------------------------------
# Requests name only the demo products (`load_demo`: SKU-1 to SKU-5), so Swagger's "Try it out"
# works on the demo data; SKU-5 has 2 units there, so the partial example reports it short.
# Answers are built with the body functions the views answer with (orders.bodies), so they
# cannot drift from what the views send; their prices are the demo products'.

PLACE_PARTIAL_REQUEST = OpenApiExample(
    "partial",
    summary="Partial fulfilment (the default)",
    value={
        "products": [
            {"product_id": "SKU-1", "item_count": 2},
            {"product_id": "SKU-5", "item_count": 5},
        ]
    },
    request_only=True,
)
PLACE_ALL_OR_NOTHING_REQUEST = OpenApiExample(
    "all_or_nothing",
    summary="All or nothing",
    value={
        "products": [
            {"product_id": "SKU-1", "item_count": 2},
            {"product_id": "SKU-2", "item_count": 1},
        ],
        "fulfillment": "all_or_nothing",
    },
    request_only=True,
)
EDIT_LINES_REQUEST = OpenApiExample(
    "edit lines",
    summary="Set counts: SKU-1 to 5, remove SKU-2",
    value={
        "products": [
            {"product_id": "SKU-1", "item_count": 5},
            {"product_id": "SKU-2", "item_count": 0},
        ]
    },
    request_only=True,
)
SET_STATUS_REQUEST = OpenApiExample(
    "set status (staff)",
    summary="Staff move the order along the pipeline",
    value={"order_status": "processing"},
    request_only=True,
)

_PLACED_AT = datetime(2026, 11, 25, 10, tzinfo=UTC)
_PRICES = {"SKU-1": Decimal("18.50"), "SKU-2": Decimal("129.00")}


def _order(status: OrderStatus = OrderStatus.PLACED, updated_at: datetime = _PLACED_AT) -> Order:
    """The example order, never saved."""
    return Order(
        id="ord_4f9c2a7d1e3b5c6a8d0e2f41",
        status=status,
        created_at=_PLACED_AT,
        updated_at=updated_at,
    )


def _response(name: str, body: object, summary: str = "") -> OpenApiExample:
    return OpenApiExample(
        name, summary=summary, value=openapi.as_sent(body), response_only=True, status_codes=["200"]
    )


PLACED_PARTIAL = _response(
    "partial",
    bodies.placed_body(_order(), {"SKU-1": 2}, _PRICES, [Shortage("SKU-5", 5, 2)]),
    "Placed; one line could not be filled",
)
PLACED_FULL = _response(
    "filled",
    bodies.placed_body(_order(), {"SKU-1": 2, "SKU-2": 1}, _PRICES, []),
    "Placed; every line filled",
)
_ORDER = bodies.order_body(_order(), {"SKU-1": 2}, _PRICES)
ORDER = _response("order", _ORDER)
ORDER_PAGE = _response(
    "page",
    {
        "results": [_ORDER],
        # The cursor the view writes after the order above: [created_at, order_id], signed.
        "next": f"{openapi.EXAMPLE_BASE}/orders?limit=1&cursor="
        + cursor_for([_ORDER["created_at"].isoformat(), _ORDER["order_id"]]),
    },
    "A page with more after it",
)
EDITED = _response(
    "edited",
    bodies.updated_body(
        _order(),
        {"SKU-1": 5},
        _PRICES,
        [LineChange("SKU-1", 2, 5), LineChange("SKU-2", 1, 0)],
    ),
    "Lines changed",
)
STATUS_SET = _response(
    "status set (staff)",
    bodies.order_body(
        _order(OrderStatus.PROCESSING, updated_at=datetime(2026, 11, 25, 11, tzinfo=UTC)),
        {"SKU-1": 2},
        _PRICES,
    ),
    "Status changed: the whole order",
)
CANCELLED = _response("cancelled", bodies.cancelled_body())
