"""HTTP endpoints for products: thin views over inventory services and selectors."""

import re
from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from orderservice.api import errors, schema
from orderservice.api.fields import (
    ID_REGEX,
    ProductIdField,
    StrictCharField,
    StrictIntegerField,
    StrictSerializer,
)
from orderservice.api.pagination import page_body, page_cursor, page_limit
from orderservice.inventory import selectors, services
from orderservice.inventory.models import Product

MAX_STOCK = 1_000_000_000


@extend_schema_serializer(component_name="Product")
class ProductOutputSerializer(serializers.Serializer):
    product_id = serializers.CharField()
    name = serializers.CharField()
    product_count = serializers.IntegerField(min_value=0)


class ProductPageSerializer(serializers.Serializer):
    results = ProductOutputSerializer(many=True)
    next = serializers.URLField(allow_null=True, help_text="The next page, or null.")


def _product_body(product: Product) -> dict[str, object]:
    return {
        "product_id": product.product_id,
        "name": product.name,
        "product_count": product.product_count,
    }


def _product_cursor(request: Request) -> str | None:
    """The product_id a `next` link's page starts after, or None for the first page."""
    position = page_cursor(request, ID_REGEX)
    return position[0] if position else None


def _staff_writes(view: APIView) -> list[Any]:
    # Only for methods the view has: any other method is a 405 for everyone, not a 403.
    method = (view.request.method or "").lower()
    if method in ("get", "head", "options") or not hasattr(view, method):
        return []
    return [IsAdminUser()]


class ProductListApi(APIView):
    class InputSerializer(StrictSerializer):
        product_id = ProductIdField()
        name = StrictCharField(min_length=1, max_length=200)
        product_count = StrictIntegerField(
            min_value=0, max_value=MAX_STOCK, required=False, default=0
        )

    def get_permissions(self) -> list[Any]:
        return [*super().get_permissions(), *_staff_writes(self)]

    @extend_schema(
        operation_id="product_list",
        summary="List products and their stock",
        parameters=[schema.LIMIT, schema.CURSOR],
        responses={200: ProductPageSerializer, **schema.error_responses(schema.BAD_PAGE)},
        examples=[schema.PRODUCT_PAGE],
    )
    def get(self, request: Request) -> Response:
        limit = page_limit(request)
        products = selectors.product_list(after=_product_cursor(request), limit=limit + 1)
        page = products[:limit]
        position = [page[-1].product_id] if page else []
        return Response(
            page_body(request, [_product_body(p) for p in page], len(products), limit, position)
        )

    @extend_schema(
        operation_id="product_create",
        summary="Create a product (staff)",
        request=InputSerializer,
        parameters=[schema.location_header(201, "product")],
        responses={
            201: ProductOutputSerializer,
            **schema.error_responses(
                schema.INVALID_BODY,
                schema.MALFORMED_JSON,
                errors.PERMISSION_DENIED,
                schema.PRODUCT_EXISTS,
            ),
        },
        examples=[schema.PRODUCT_CREATE_REQUEST, schema.PRODUCT],
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = services.product_create(**serializer.validated_data)
        return Response(
            _product_body(product),
            status=201,
            headers={"Location": f"/products/{product.product_id}"},
        )


class ProductDetailApi(APIView):
    class InputSerializer(StrictSerializer):
        name = StrictCharField(min_length=1, max_length=200, required=False)
        product_count = StrictIntegerField(min_value=0, max_value=MAX_STOCK, required=False)
        restock = StrictIntegerField(min_value=1, max_value=MAX_STOCK, required=False)

        def validate(self, attrs: dict) -> dict:
            if not attrs:
                raise serializers.ValidationError(
                    "Send at least one of name, product_count, restock."
                )
            if "restock" in attrs and len(attrs) > 1:
                raise serializers.ValidationError(
                    "Send restock alone, without name or product_count."
                )
            return attrs

    def get_permissions(self) -> list[Any]:
        return [*super().get_permissions(), *_staff_writes(self)]

    @extend_schema(
        operation_id="product_get",
        summary="View a product",
        parameters=[schema.PRODUCT_ID],
        responses={
            200: ProductOutputSerializer,
            **schema.error_responses(schema.BAD_PRODUCT_ID, errors.PRODUCT_NOT_FOUND),
        },
        examples=[schema.PRODUCT],
    )
    def get(self, request: Request, product_id: str) -> Response:
        _check_product_id(product_id)
        return Response(_product_body(selectors.product_get(product_id=product_id)))

    @extend_schema(
        operation_id="product_edit",
        summary="Set a product's name or stock, or restock it (staff)",
        description=(
            "`name` and/or `product_count` set the values; `restock` (alone) adds units, safely "
            "under concurrent orders."
        ),
        request=InputSerializer,
        parameters=[schema.PRODUCT_ID],
        responses={
            200: ProductOutputSerializer,
            **schema.error_responses(
                schema.INVALID_BODY,
                schema.BAD_PRODUCT_ID,
                errors.PERMISSION_DENIED,
                errors.PRODUCT_NOT_FOUND,
            ),
        },
        examples=[schema.PRODUCT_RESTOCK_REQUEST, schema.PRODUCT_SET_REQUEST, schema.PRODUCT],
    )
    def patch(self, request: Request, product_id: str) -> Response:
        _check_product_id(product_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if "restock" in data:
            product = services.product_restock(product_id=product_id, amount=data["restock"])
        else:
            product = services.product_update(product_id=product_id, **data)
        return Response(_product_body(product))


def _check_product_id(product_id: str) -> None:
    if not re.fullmatch(ID_REGEX, product_id):
        raise serializers.ValidationError(
            {"product_id": ["Must be 1 to 64 characters of A-Z a-z 0-9 . _ -"]}
        )
