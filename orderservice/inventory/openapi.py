"""The product endpoints' OpenAPI description: the operations the views apply, and their parts."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers

from orderservice.api import errors, openapi
from orderservice.common.ids import PRODUCT_ID_REGEX
from orderservice.idempotency import openapi as idempotency_openapi
from orderservice.inventory import openapi_examples as example
from orderservice.inventory.models import MAX_THRESHOLD, MovementReason
from orderservice.inventory.stock_status import StockStatus

# --- response bodies (the views build them as plain dicts: inventory.bodies) ----------------


@extend_schema_serializer(component_name="Product")
class ProductOutputSerializer(serializers.Serializer):
    product_id = serializers.CharField()
    name = serializers.CharField()
    product_count = serializers.IntegerField(min_value=0)
    price = openapi.AmountField(help_text="Always two places, in `currency`.")
    currency = serializers.RegexField(
        r"^[A-Z]{3}$", help_text="ISO 4217 code: one currency per deployment."
    )
    stock_status = serializers.ChoiceField(
        choices=StockStatus.values,
        help_text="`out_of_stock` at 0, `low_stock` from 1 to `low_stock_threshold`, else "
        "`in_stock`.",
    )
    low_stock_threshold = serializers.IntegerField(min_value=0, max_value=MAX_THRESHOLD)
    unfilled_units = serializers.IntegerField(
        min_value=0, help_text="Units customers asked for and did not get."
    )


class ProductPageSerializer(serializers.Serializer):
    results = ProductOutputSerializer(many=True)
    next = serializers.URLField(allow_null=True, help_text="The next page, or null.")


@extend_schema_serializer(component_name="StockMovement")
class MovementSerializer(serializers.Serializer):
    movement_id = serializers.RegexField(r"^mov_[1-9][0-9]*$")
    product_id = serializers.CharField()
    delta = serializers.IntegerField(help_text="The change of product_count; never 0.")
    count_after = serializers.IntegerField(min_value=0, help_text="product_count after it.")
    reason = serializers.ChoiceField(choices=MovementReason.values)
    order_id = serializers.CharField(allow_null=True, help_text="The order that moved it, or null.")
    actor = serializers.CharField(
        allow_null=True, help_text="The user whose request made the change; null: the system."
    )
    note = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()


class MovementPageSerializer(serializers.Serializer):
    results = MovementSerializer(many=True)
    next = serializers.URLField(allow_null=True, help_text="The next page, or null.")


class AdjustmentResultSerializer(serializers.Serializer):
    movement = MovementSerializer(
        allow_null=True, help_text="null when `set_to` was the stock already (nothing moved)."
    )
    product = ProductOutputSerializer()


# --- parameters ------------------------------------------------------------------------------

PRODUCT_ID = OpenApiParameter(
    "product_id",
    str,
    OpenApiParameter.PATH,
    pattern=PRODUCT_ID_REGEX,
    description="The product's SKU: 1 to 64 characters of `A-Z a-z 0-9 . _ -`.",
)
STOCK_STATUS_FILTER = OpenApiParameter(
    "stock_status",
    str,
    enum=StockStatus.values,
    description="Only products with this stock status; an unknown value is 400.",
)
REASON_FILTER = OpenApiParameter(
    "reason",
    str,
    enum=MovementReason.values,
    description="Only movements of this reason; an unknown reason is 400.",
)

_FROM_BODY = {"product_id": "$response.body#/product_id"}
_LEDGER_LINKS = {
    "ListMovements": {"operationId": "product_movement_list", "parameters": _FROM_BODY},
    "AdjustStock": {"operationId": "product_adjust", "parameters": _FROM_BODY},
}

# --- the operations ------------------------------------------------------------------------

PRODUCT_LIST = extend_schema(
    operation_id="product_list",
    summary="List products and their stock",
    parameters=[openapi.LIMIT, STOCK_STATUS_FILTER, openapi.CURSOR],
    responses={
        200: ProductPageSerializer,
        **openapi.error_responses(openapi.BAD_PAGE, example.BAD_FILTER),
    },
    examples=[example.PRODUCT_PAGE],
)
PRODUCT_CREATE = extend_schema(
    operation_id="product_create",
    summary="Create a product (staff)",
    description=(
        '`price` defaults to `"0.00"`, `low_stock_threshold` to the deployment\'s setting. '
        "Stock it starts with is its `initial` movement."
    ),
    parameters=[openapi.location_header(201, "product")],
    responses={
        201: ProductOutputSerializer,
        **openapi.error_responses(
            openapi.INVALID_BODY,
            example.BAD_PRICE,
            openapi.MALFORMED_JSON,
            errors.PERMISSION_DENIED,
            example.PRODUCT_EXISTS,
        ),
    },
    examples=[example.PRODUCT_CREATE_REQUEST, example.PRODUCT_CREATED],
    extensions={
        openapi.LINKS: {
            "201": {
                "GetProduct": {"operationId": "product_get", "parameters": _FROM_BODY},
                "EditProduct": {"operationId": "product_edit", "parameters": _FROM_BODY},
                **_LEDGER_LINKS,
            }
        }
    },
)
PRODUCT_GET = extend_schema(
    operation_id="product_get",
    summary="View a product",
    parameters=[PRODUCT_ID],
    responses={
        200: ProductOutputSerializer,
        **openapi.error_responses(example.BAD_PRODUCT_ID, errors.PRODUCT_NOT_FOUND),
    },
    examples=[example.PRODUCT],
)
PRODUCT_EDIT = extend_schema(
    operation_id="product_edit",
    summary="Set a product's name, price, threshold or stock, or restock it (staff)",
    description=(
        "`name`, `price`, `low_stock_threshold` and/or `product_count` set the values (a new "
        "`product_count` is a `correction` movement); `restock` (alone) adds units, safely under "
        "concurrent orders (a `restock` movement)."
    ),
    parameters=[PRODUCT_ID],
    responses={
        200: ProductOutputSerializer,
        **openapi.error_responses(
            openapi.INVALID_BODY,
            example.BAD_PRICE,
            example.BAD_PRODUCT_ID,
            errors.PERMISSION_DENIED,
            errors.PRODUCT_NOT_FOUND,
        ),
    },
    examples=[
        example.PRODUCT_RESTOCK_REQUEST,
        example.PRODUCT_SET_REQUEST,
        example.PRODUCT_PRICE_REQUEST,
        example.PRODUCT,
    ],
    extensions={
        # `restock` alone, or at least one of the values to set.
        openapi.BODY_RULES: {
            "oneOf": [
                {"required": ["restock"], "maxProperties": 1},
                {
                    "anyOf": [
                        {"required": [name]}
                        for name in ("name", "product_count", "price", "low_stock_threshold")
                    ],
                    "not": {"required": ["restock"]},
                },
            ]
        },
        openapi.LINKS: {"200": _LEDGER_LINKS},
    },
)
MOVEMENT_LIST = extend_schema(
    operation_id="product_movement_list",
    summary="A product's stock movements, newest first (staff)",
    description=(
        "Every change of the product's `product_count`, newest first, a page at a time: their "
        "`delta`s add up to its `product_count`."
    ),
    parameters=[PRODUCT_ID, openapi.LIMIT, REASON_FILTER, openapi.CURSOR],
    responses={
        200: MovementPageSerializer,
        **openapi.error_responses(
            openapi.BAD_PAGE,
            example.BAD_REASON_FILTER,
            example.BAD_PRODUCT_ID,
            errors.PERMISSION_DENIED,
            errors.PRODUCT_NOT_FOUND,
        ),
    },
    examples=[example.MOVEMENT_PAGE],
)
ADJUSTMENT_CREATE = extend_schema(
    operation_id="product_adjust",
    summary="Adjust a product's stock, for a reason (staff)",
    description=(
        "Exactly one of `delta` (a non-zero change) and `set_to` (the stock counted). With "
        "`expected_count`, applied only if the stock is exactly that (409 with the current "
        "`product_count` otherwise: a count never overwrites a change it did not see). A delta "
        "taking the stock below 0 is 409. Nothing changes on an error."
    ),
    parameters=[
        PRODUCT_ID,
        *idempotency_openapi.key_parameters(replayed="the first 201", stored=[201]),
    ],
    responses={
        201: AdjustmentResultSerializer,
        **openapi.error_responses(
            openapi.INVALID_BODY,
            example.BAD_ADJUSTMENT,
            openapi.MALFORMED_JSON,
            idempotency_openapi.BAD_KEY,
            example.BAD_PRODUCT_ID,
            errors.PERMISSION_DENIED,
            errors.PRODUCT_NOT_FOUND,
            example.COUNT_CHANGED,
            example.BELOW_ZERO,
            errors.IDEMPOTENCY_KEY_IN_FLIGHT,
            errors.IDEMPOTENCY_KEY_REUSED,
        ),
    },
    examples=[example.ADJUST_BY_REQUEST, example.ADJUST_TO_REQUEST, example.ADJUSTED],
    extensions={
        openapi.BODY_RULES: {
            "oneOf": [
                {"required": ["delta"], "not": {"required": ["set_to"]}},
                {"required": ["set_to"], "not": {"required": ["delta"]}},
            ],
            "allOf": [{"properties": {"delta": {"not": {"enum": [0]}}}}],
        }
    },
)
