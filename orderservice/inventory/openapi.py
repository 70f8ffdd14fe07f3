"""The product endpoints' OpenAPI description: the operations the views apply, and their parts."""

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import serializers

from orderservice.api import errors, openapi
from orderservice.common.ids import PRODUCT_ID_REGEX
from orderservice.inventory.bodies import product_body
from orderservice.inventory.models import Product

# --- response bodies (the views build them as plain dicts: inventory.bodies) ----------------


@extend_schema_serializer(component_name="Product")
class ProductOutputSerializer(serializers.Serializer):
    product_id = serializers.CharField()
    name = serializers.CharField()
    product_count = serializers.IntegerField(min_value=0)


class ProductPageSerializer(serializers.Serializer):
    results = ProductOutputSerializer(many=True)
    next = serializers.URLField(allow_null=True, help_text="The next page, or null.")


# --- parameters and examples -----------------------------------------------------------------

PRODUCT_ID = OpenApiParameter(
    "product_id",
    str,
    OpenApiParameter.PATH,
    pattern=PRODUCT_ID_REGEX,
    description="The product's SKU: 1 to 64 characters of `A-Z a-z 0-9 . _ -`.",
)

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

# Answers are built with the body function the views answer with. The create example names a
# product the demo data (`load_demo`: SKU-1 to SKU-5) lacks: "Try it out" creates it, not a 409.
_PRODUCT = product_body(Product(product_id="SKU-1", name="Espresso beans, 1 kg", product_count=100))
_NEW_PRODUCT = product_body(Product(product_id="SKU-6", name="Blue mug", product_count=40))
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
PRODUCT_CREATE_REQUEST = OpenApiExample("create", value=_NEW_PRODUCT, request_only=True)
PRODUCT_RESTOCK_REQUEST = OpenApiExample(
    "restock", summary="Add 25 units (safe under concurrent orders)", value={"restock": 25},
    request_only=True,
)  # fmt: skip
PRODUCT_SET_REQUEST = OpenApiExample(
    "set", summary="Set name and stock", value={"name": "Blue mug, large", "product_count": 10},
    request_only=True,
)  # fmt: skip

# --- the operations ------------------------------------------------------------------------

PRODUCT_LIST = extend_schema(
    operation_id="product_list",
    summary="List products and their stock",
    parameters=[openapi.LIMIT, openapi.CURSOR],
    responses={200: ProductPageSerializer, **openapi.error_responses(openapi.BAD_PAGE)},
    examples=[PRODUCT_PAGE],
)
PRODUCT_CREATE = extend_schema(
    operation_id="product_create",
    summary="Create a product (staff)",
    parameters=[openapi.location_header(201, "product")],
    responses={
        201: ProductOutputSerializer,
        **openapi.error_responses(
            openapi.INVALID_BODY,
            openapi.MALFORMED_JSON,
            errors.PERMISSION_DENIED,
            PRODUCT_EXISTS,
        ),
    },
    examples=[PRODUCT_CREATE_REQUEST, PRODUCT_CREATED],
    extensions={
        openapi.LINKS: {
            "201": {
                "GetProduct": {
                    "operationId": "product_get",
                    "parameters": {"product_id": "$response.body#/product_id"},
                },
                "EditProduct": {
                    "operationId": "product_edit",
                    "parameters": {"product_id": "$response.body#/product_id"},
                },
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
        **openapi.error_responses(BAD_PRODUCT_ID, errors.PRODUCT_NOT_FOUND),
    },
    examples=[PRODUCT],
)
PRODUCT_EDIT = extend_schema(
    operation_id="product_edit",
    summary="Set a product's name or stock, or restock it (staff)",
    description=(
        "`name` and/or `product_count` set the values; `restock` (alone) adds units, safely "
        "under concurrent orders."
    ),
    parameters=[PRODUCT_ID],
    responses={
        200: ProductOutputSerializer,
        **openapi.error_responses(
            openapi.INVALID_BODY,
            BAD_PRODUCT_ID,
            errors.PERMISSION_DENIED,
            errors.PRODUCT_NOT_FOUND,
        ),
    },
    examples=[PRODUCT_RESTOCK_REQUEST, PRODUCT_SET_REQUEST, PRODUCT],
    extensions={
        # `restock` alone, or at least one of `name` and `product_count`.
        openapi.BODY_RULES: {
            "oneOf": [
                {"required": ["restock"], "maxProperties": 1},
                {
                    "anyOf": [{"required": ["name"]}, {"required": ["product_count"]}],
                    "not": {"required": ["restock"]},
                },
            ]
        }
    },
)
