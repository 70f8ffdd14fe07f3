"""HTTP endpoints for products and their stock ledger: thin views over inventory services and
selectors."""

import re
from typing import Any

from django.http import HttpRequest, HttpResponse
from rest_framework import serializers
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from orderservice.api.authentication import authenticated_user
from orderservice.api.fastpath import Answer, FastPathApi
from orderservice.api.fields import (
    ProductIdField,
    StrictCharField,
    StrictChoiceField,
    StrictIntegerField,
    StrictMoneyField,
    StrictSerializer,
)
from orderservice.api.pagination import page_body, page_cursor, page_limit
from orderservice.common.ids import PRODUCT_ID_REGEX
from orderservice.idempotency.http import idempotency_key, idempotent
from orderservice.inventory import openapi, selectors, services
from orderservice.inventory.bodies import movement_body, product_body
from orderservice.inventory.models import (
    ADJUSTMENT_REASONS,
    MAX_PRICE,
    MAX_THRESHOLD,
    MovementReason,
)
from orderservice.inventory.stock_status import StockStatus

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


def _staff_only(view: APIView) -> list[Any]:
    method = (view.request.method or "").lower()
    if method == "options" or not hasattr(view, method):
        return []
    return [IsAdminUser()]


def _actor(request: Request) -> str:
    return authenticated_user(request).get_username()


def _choice(request: Request, name: str, choices: list[str]) -> str | None:
    value = request.query_params.get(name)
    if value is not None and value not in choices:
        raise serializers.ValidationError({name: [f"Must be one of: {', '.join(choices)}."]})
    return value


class ProductListApi(APIView):
    class InputSerializer(StrictSerializer):
        product_id = ProductIdField()
        name = StrictCharField(min_length=1, max_length=200)
        product_count = StrictIntegerField(
            min_value=0, max_value=MAX_STOCK, required=False, default=0
        )
        price = StrictMoneyField(max_value=MAX_PRICE, required=False)
        low_stock_threshold = StrictIntegerField(
            min_value=0, max_value=MAX_THRESHOLD, required=False
        )

    def get_permissions(self) -> list[Any]:
        return [*super().get_permissions(), *_staff_writes(self)]

    @openapi.PRODUCT_LIST
    def get(self, request: Request) -> Response:
        limit = page_limit(request)
        status = _choice(request, "stock_status", StockStatus.values)
        products = selectors.product_list(
            after=_product_cursor(request), limit=limit + 1, stock_status=status
        )
        page = products[:limit]
        position = [page[-1].product_id] if page else []
        return Response(
            page_body(request, [product_body(p) for p in page], len(products), limit, position)
        )

    @openapi.PRODUCT_CREATE
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = services.product_create(**serializer.validated_data, actor=_actor(request))
        return Response(
            product_body(product),
            status=201,
            headers={"Location": f"/products/{product.product_id}"},
        )


class ProductDetailApi(FastPathApi):
    fast_method = "GET"

    class InputSerializer(StrictSerializer):
        name = StrictCharField(min_length=1, max_length=200, required=False)
        product_count = StrictIntegerField(min_value=0, max_value=MAX_STOCK, required=False)
        price = StrictMoneyField(max_value=MAX_PRICE, required=False)
        low_stock_threshold = StrictIntegerField(
            min_value=0, max_value=MAX_THRESHOLD, required=False
        )
        restock = StrictIntegerField(min_value=1, max_value=MAX_STOCK, required=False)

        def validate(self, attrs: dict) -> dict:
            if not attrs:
                raise serializers.ValidationError(
                    "Send at least one of name, product_count, price, low_stock_threshold, restock."
                )
            if "restock" in attrs and len(attrs) > 1:
                raise serializers.ValidationError(
                    "Send restock alone, without name, product_count, price or low_stock_threshold."
                )
            return attrs

    def get_permissions(self) -> list[Any]:
        return [*super().get_permissions(), *_staff_writes(self)]

    @openapi.PRODUCT_GET
    def get(self, request: Request, product_id: str) -> Response:
        return Response(_product(product_id))

    def plain_input(self, request: HttpRequest, **kwargs: str) -> str:
        return kwargs["product_id"]

    def plain_answer(self, request: HttpRequest, product_id: str) -> Answer:
        return _product(product_id), 200, {}

    @openapi.PRODUCT_EDIT
    def patch(self, request: Request, product_id: str) -> Response:
        _check_product_id(product_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if "restock" in data:
            product = services.product_restock(
                product_id=product_id, amount=data["restock"], actor=_actor(request)
            )
        else:
            product = services.product_update(product_id=product_id, **data, actor=_actor(request))
        return Response(product_body(product))


class ProductMovementListApi(APIView):
    def get_permissions(self) -> list[Any]:
        return [*super().get_permissions(), *_staff_only(self)]

    @openapi.MOVEMENT_LIST
    def get(self, request: Request, product_id: str) -> Response:
        _check_product_id(product_id)
        limit = page_limit(request)
        reason = _choice(request, "reason", MovementReason.values)
        movements = selectors.movement_list(
            product_id=product_id, reason=reason, before=_movement_cursor(request), limit=limit + 1
        )
        page = movements[:limit]
        position = [str(page[-1].pk)] if page else []
        return Response(
            page_body(request, [movement_body(m) for m in page], len(movements), limit, position)
        )


def _movement_cursor(request: Request) -> int | None:
    """The id of the movement a `next` link's page starts before, or None for the first page."""
    position = page_cursor(request, r"[1-9][0-9]{0,18}")
    return int(position[0]) if position else None


class ProductAdjustmentApi(APIView):
    class InputSerializer(StrictSerializer):
        delta = StrictIntegerField(min_value=-MAX_STOCK, max_value=MAX_STOCK, required=False)
        set_to = StrictIntegerField(min_value=0, max_value=MAX_STOCK, required=False)
        reason = StrictChoiceField(choices=[reason.value for reason in ADJUSTMENT_REASONS])
        note = StrictCharField(max_length=200, required=False, allow_null=True, allow_blank=True)
        expected_count = StrictIntegerField(min_value=0, max_value=MAX_STOCK, required=False)

        def validate_delta(self, value: int) -> int:
            if value == 0:
                raise serializers.ValidationError("Must not be 0.")
            return value

        def validate(self, attrs: dict) -> dict:
            if ("delta" in attrs) == ("set_to" in attrs):
                raise serializers.ValidationError("Send exactly one of delta and set_to.")
            return attrs

    def get_permissions(self) -> list[Any]:
        return [*super().get_permissions(), *_staff_only(self)]

    @openapi.ADJUSTMENT_CREATE
    def post(self, request: Request, product_id: str) -> Response | HttpResponse:
        _check_product_id(product_id)
        key = idempotency_key(request)  # a malformed Idempotency-Key is a 400 like a bad body
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data

        def adjust() -> Response:
            adjusted = services.product_adjust(product_id=product_id, **data, actor=_actor(request))
            movement = adjusted.movement
            body = {
                "movement": movement_body(movement) if movement is not None else None,
                "product": product_body(adjusted.product),
            }
            return Response(body, status=201)

        # With a key: run once, store the 201 in the adjustment's transaction, replay it on a
        # retry. A refusal (404, 409) is not stored: a retry runs afresh.
        return idempotent(request, key, adjust, stored_refusals=())


def _product(product_id: str) -> dict[str, object]:
    """The body of GET /products/{id}."""
    _check_product_id(product_id)
    return product_body(selectors.product_get(product_id=product_id))


def _check_product_id(product_id: str) -> None:
    if not re.fullmatch(PRODUCT_ID_REGEX, product_id):
        raise serializers.ValidationError(
            {"product_id": ["Must be 1 to 64 characters of A-Z a-z 0-9 . _ -"]}
        )
