"""The OpenAPI description of the order endpoints: the operations the views apply, their parts."""

from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework import serializers

from orderservice.api import errors, openapi
from orderservice.idempotency import openapi as idempotency_openapi
from orderservice.orders import openapi_examples as example
from orderservice.orders.models import ORDER_ID_PATTERN
from orderservice.orders.status import OrderStatus

# --- response bodies (the views build them as plain dicts: orders.bodies) -------------------


def _unit_price() -> openapi.AmountField:
    return openapi.AmountField(
        help_text="The product's price when the line entered the order; kept when its count "
        "changes, whatever the product's price does later."
    )


def _line_total() -> openapi.AmountField:
    return openapi.AmountField(help_text="unit_price x item_count.")


def _total() -> openapi.AmountField:
    return openapi.AmountField(help_text="The sum of the lines' line_total, exactly.")


def _currency() -> serializers.RegexField:
    return serializers.RegexField(
        r"^[A-Z]{3}$", help_text="ISO 4217 code of every amount: one currency per deployment."
    )


class OrderLineSerializer(serializers.Serializer):
    product_id = serializers.CharField()
    item_count = serializers.IntegerField(min_value=1)
    unit_price = _unit_price()
    line_total = _line_total()


class PlacedLineSerializer(serializers.Serializer):
    product_id = serializers.CharField()
    product_count = serializers.IntegerField(min_value=1, help_text="Same as item_count.")
    item_count = serializers.IntegerField(min_value=1)
    unit_price = _unit_price()
    line_total = _line_total()


class ShortageSerializer(serializers.Serializer):
    product_id = serializers.CharField()
    requested = serializers.IntegerField(min_value=1)
    available = serializers.IntegerField(min_value=0)


class LineChangeSerializer(serializers.Serializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        return {  # "from" is a Python keyword: no class attribute can carry it
            "product_id": serializers.CharField(),
            "from": serializers.IntegerField(min_value=0),
            "to": serializers.IntegerField(min_value=0),
        }


class OrderSerializer(serializers.Serializer):
    order_id = serializers.CharField()
    order_status = serializers.ChoiceField(choices=OrderStatus.values)
    products = OrderLineSerializer(many=True)
    total = _total()
    currency = _currency()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class OrderPageSerializer(serializers.Serializer):
    results = OrderSerializer(many=True)
    next = serializers.URLField(allow_null=True, help_text="The next page, or null.")


class OrderPlacedSerializer(serializers.Serializer):
    message = openapi.constant_field("Success! Order placed")
    order_id = serializers.CharField()
    order_status = serializers.ChoiceField(choices=OrderStatus.values)
    products = PlacedLineSerializer(many=True, help_text="What was ordered.")
    total = _total()
    currency = _currency()
    out_of_stock = ShortageSerializer(many=True, help_text="Lines not filled; [] when all were.")


class OrderUpdatedSerializer(serializers.Serializer):
    message = openapi.constant_field("Order successfully updated")
    order_id = serializers.CharField()
    order_status = serializers.ChoiceField(choices=OrderStatus.values)
    products = OrderLineSerializer(many=True, help_text="The whole order after the change.")
    total = _total()
    currency = _currency()
    changes = LineChangeSerializer(many=True, help_text="What was added, changed or removed.")


class OrderCancelledSerializer(serializers.Serializer):
    message = openapi.constant_field("Order successfully cancelled")


# --- parameters ------------------------------------------------------------------------------

ORDER_ID = OpenApiParameter(
    "order_id",
    str,
    OpenApiParameter.PATH,
    pattern=f"^{ORDER_ID_PATTERN}$",
    description=(
        "The `order_id` the server returned when the order was placed. Another user's order "
        "answers 404 like an unknown one; a value not of this format answers 400."
    ),
)
ORDER_STATUS_FILTER = OpenApiParameter(
    "status",
    str,
    enum=OrderStatus.values,
    description="Only orders in this status; an unknown status is 400.",
)

# --- links: what a client (or schemathesis' stateful phase) can chain from an answer ---------

_ORDER_FROM_BODY = {"order_id": "$response.body#/order_id"}
_AT_THIS_VERSION = {**_ORDER_FROM_BODY, "header.If-Match": "$response.header.ETag"}
PLACED_LINKS = {
    "GetOrder": {
        "operationId": "order_get",
        "parameters": _ORDER_FROM_BODY,
        "description": "The order just placed.",
    },
    "EditOrder": {
        "operationId": "order_edit",
        "parameters": _AT_THIS_VERSION,
        "description": "Edit the order just placed, at the version just returned.",
    },
    "CancelOrder": {
        "operationId": "order_cancel",
        "parameters": _ORDER_FROM_BODY,
        "description": "Cancel the order just placed.",
    },
}
ORDER_LINKS = {
    "EditOrder": {"operationId": "order_edit", "parameters": _AT_THIS_VERSION},
    "CancelOrder": {"operationId": "order_cancel", "parameters": _AT_THIS_VERSION},
}

# --- the operations ------------------------------------------------------------------------

ORDER_LIST = extend_schema(
    operation_id="order_list",
    summary="List orders",
    description="Your orders (staff: everyone's), newest first, a page at a time.",
    parameters=[openapi.LIMIT, ORDER_STATUS_FILTER, openapi.CURSOR],
    responses={200: OrderPageSerializer, **openapi.error_responses(openapi.BAD_PAGE)},
    examples=[example.ORDER_PAGE],
)
ORDER_PLACE = extend_schema(
    operation_id="order_place",
    summary="Place an order",
    description=(
        "`partial` (default): every line the stock can fill in full is filled, the others are "
        "listed in `out_of_stock`; 404 when no line can be filled. `all_or_nothing`: 404 "
        "when any line is short. Duplicate lines are merged. Each line is priced at its "
        "product's price now. Nothing changes on an error, but the units a 404 refused (and "
        "the lines `partial` left out) count in their products' `unfilled_units`."
    ),
    parameters=[
        openapi.location_header(200, "order"),
        openapi.etag_header(200),
        *idempotency_openapi.key_parameters(
            replayed="the first answer (200, or 404 out of stock)", stored=[200, 404]
        ),
    ],
    responses={
        200: OrderPlacedSerializer,
        **openapi.error_responses(
            openapi.INVALID_BODY,
            example.UNKNOWN_PRODUCTS,
            openapi.MALFORMED_JSON,
            idempotency_openapi.BAD_KEY,
            example.OUT_OF_STOCK_PLACE,
            errors.IDEMPOTENCY_KEY_IN_FLIGHT,
            errors.IDEMPOTENCY_KEY_REUSED,
        ),
    },
    examples=[
        example.PLACE_PARTIAL_REQUEST,
        example.PLACE_ALL_OR_NOTHING_REQUEST,
        example.PLACED_PARTIAL,
        example.PLACED_FULL,
    ],
    extensions={openapi.LINKS: {"200": PLACED_LINKS}},
)
ORDER_GET = extend_schema(
    operation_id="order_get",
    summary="View an order",
    parameters=[ORDER_ID, openapi.etag_header(200)],
    responses={
        200: OrderSerializer,
        **openapi.error_responses(example.BAD_ORDER_ID, errors.ORDER_NOT_FOUND),
    },
    examples=[example.ORDER],
    extensions={openapi.LINKS: {"200": ORDER_LINKS}},
)
ORDER_EDIT = extend_schema(
    operation_id="order_edit",
    summary="Edit an order's lines, or (staff) set its status",
    description=(
        "`products`: each line sets that product's count (new products are added, 0 removes, "
        "others stay); all or nothing, the stock moves by the difference. A line added takes "
        "its product's price now; a line resized keeps its price. A 404 counts the increases "
        "it refused in their products' `unfilled_units`. Or, staff only, "
        "`order_status` to move the order along `placed → processing → shipped → delivered` "
        "(or `cancelled`, the same as DELETE). One of the two per request."
    ),
    parameters=[ORDER_ID, openapi.IF_MATCH, openapi.etag_header(200)],
    responses={
        200: PolymorphicProxySerializer(
            component_name="OrderEditResult",
            serializers=[OrderUpdatedSerializer, OrderSerializer],
            resource_type_field_name=None,
        ),
        **openapi.error_responses(
            openapi.INVALID_BODY,
            example.BAD_ORDER_ID,
            example.UNKNOWN_PRODUCTS,
            example.EMPTY_ORDER,
            errors.PERMISSION_DENIED,
            errors.ORDER_NOT_FOUND,
            example.OUT_OF_STOCK_EDIT,
            example.EDIT_CONFLICT,
            example.TRANSITION_CONFLICT,
            errors.PRECONDITION_FAILED,
        ),
    },
    examples=[
        example.EDIT_LINES_REQUEST,
        example.SET_STATUS_REQUEST,
        example.EDITED,
        example.STATUS_SET,
    ],
    # `products` or `order_status`, not both, not neither.
    extensions={openapi.BODY_RULES: {"minProperties": 1, "maxProperties": 1}},
)
ORDER_CANCEL = extend_schema(
    operation_id="order_cancel",
    summary="Cancel an order",
    description="The order stays, as `cancelled`; its items go back to stock exactly once.",
    parameters=[ORDER_ID, openapi.IF_MATCH, openapi.etag_header(200)],
    responses={
        200: OpenApiResponse(OrderCancelledSerializer, examples=[example.CANCELLED]),
        **openapi.error_responses(
            example.BAD_ORDER_ID,
            errors.ORDER_NOT_FOUND,
            example.CANCEL_CONFLICT,
            example.CANCEL_SHIPPED_CONFLICT,
            errors.PRECONDITION_FAILED,
        ),
    },
)
