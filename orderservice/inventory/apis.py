"""HTTP endpoints for products: thin views over inventory services and selectors."""

import re
from typing import Any

from rest_framework import serializers
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from orderservice.api.fields import (
    ProductIdField,
    StrictCharField,
    StrictIntegerField,
    StrictSerializer,
)
from orderservice.api.pagination import page_body, page_cursor, page_limit
from orderservice.common.ids import PRODUCT_ID_REGEX
from orderservice.inventory import openapi, selectors, services
from orderservice.inventory.bodies import product_body

MAX_STOCK = 1_000_000_000


def _product_cursor(request: Request) -> str | None:
    """The product_id a `next` link's page starts after, or None for the first page."""
    position = page_cursor(request, PRODUCT_ID_REGEX)
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

    @openapi.PRODUCT_LIST
    def get(self, request: Request) -> Response:
        limit = page_limit(request)
        products = selectors.product_list(after=_product_cursor(request), limit=limit + 1)
        page = products[:limit]
        position = [page[-1].product_id] if page else []
        return Response(
            page_body(request, [product_body(p) for p in page], len(products), limit, position)
        )

    @openapi.PRODUCT_CREATE
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = services.product_create(**serializer.validated_data)
        return Response(
            product_body(product),
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

    @openapi.PRODUCT_GET
    def get(self, request: Request, product_id: str) -> Response:
        _check_product_id(product_id)
        return Response(product_body(selectors.product_get(product_id=product_id)))

    @openapi.PRODUCT_EDIT
    def patch(self, request: Request, product_id: str) -> Response:
        _check_product_id(product_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if "restock" in data:
            product = services.product_restock(product_id=product_id, amount=data["restock"])
        else:
            product = services.product_update(product_id=product_id, **data)
        return Response(product_body(product))


def _check_product_id(product_id: str) -> None:
    if not re.fullmatch(PRODUCT_ID_REGEX, product_id):
        raise serializers.ValidationError(
            {"product_id": ["Must be 1 to 64 characters of A-Z a-z 0-9 . _ -"]}
        )
