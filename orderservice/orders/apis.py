"""HTTP endpoints for orders: parse, call one service or selector, shape the answer."""

import re
from typing import Any

from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from orderservice.api.authentication import authenticated_user
from orderservice.api.fastpath import Answer, FastPathApi, json_body
from orderservice.api.fields import (
    ProductIdField,
    StrictChoiceField,
    StrictIntegerField,
    StrictSerializer,
)
from orderservice.api.pagination import page_body, page_limit, page_time_cursor
from orderservice.common.exceptions import InsufficientStock
from orderservice.idempotency.http import idempotency_key, idempotent
from orderservice.orders import openapi, placement, selectors, services
from orderservice.orders.bodies import cancelled_body, order_body, placed_body, updated_body
from orderservice.orders.etag import etag_for, if_match_versions
from orderservice.orders.fastparse import place_body_accept
from orderservice.orders.lines import MAX_ITEM_COUNT, MAX_LINES, merge_lines
from orderservice.orders.models import ORDER_ID_PATTERN, Order
from orderservice.orders.status import OrderStatus


class PlaceLineSerializer(StrictSerializer):
    product_id = ProductIdField()
    item_count = StrictIntegerField(min_value=1, max_value=MAX_ITEM_COUNT)


class EditLineSerializer(StrictSerializer):
    product_id = ProductIdField()
    item_count = StrictIntegerField(min_value=0, max_value=MAX_ITEM_COUNT)


def _lines(validated: list[dict[str, Any]]) -> dict[str, int]:
    return merge_lines((line["product_id"], line["item_count"]) for line in validated)


def _order_response(body: dict[str, Any], order: Order, **kwargs: Any) -> Response:
    response = Response(body, **kwargs)
    response["ETag"] = etag_for(order.version)
    return response


def _order(order_id: str, user: User) -> tuple[dict[str, Any], dict[str, str]]:
    """The body and ETag of GET /orders/{id}."""
    _check_order_id(order_id)
    order, lines, prices = selectors.order_read_for_user(order_id=order_id, user=user)
    return order_body(order, lines, prices), {"ETag": etag_for(order.version)}


def _check_order_id(order_id: str) -> None:
    if not re.fullmatch(ORDER_ID_PATTERN, order_id):
        raise serializers.ValidationError({"order_id": ["Not an order id of this service."]})


class OrderListApi(FastPathApi):
    fast_method = "POST"

    class InputSerializer(StrictSerializer):
        products = serializers.ListField(
            child=PlaceLineSerializer(), min_length=1, max_length=MAX_LINES
        )
        fulfillment = StrictChoiceField(
            choices=["partial", "all_or_nothing"], required=False, default="partial"
        )

    @openapi.ORDER_LIST
    def get(self, request: Request) -> Response:
        limit = page_limit(request)
        status = request.query_params.get("status")
        if status is not None and status not in OrderStatus.values:
            raise serializers.ValidationError(
                {"status": [f"Must be one of: {', '.join(OrderStatus.values)}."]}
            )
        reads = selectors.order_page_read_for_user(
            user=authenticated_user(request),
            status=status,
            after=page_time_cursor(request, ORDER_ID_PATTERN),
            limit=limit + 1,
        )
        page = reads[:limit]
        position = [page[-1].order.created_at.isoformat(), page[-1].order.id] if page else []
        results = [order_body(*read) for read in page]
        return Response(page_body(request, results, len(reads), limit, position))

    @openapi.ORDER_PLACE
    def post(self, request: Request) -> Response | HttpResponse:
        key = idempotency_key(request)  # a malformed Idempotency-Key is a 400 like a bad body
        accepted = place_body_accept(request.data)
        if accepted is None:  # not plainly valid: the serializer names what is wrong
            serializer = self.InputSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
            accepted = _lines(data["products"]), data["fulfillment"] == "partial"
        lines, partial = accepted

        def place() -> Response:
            body, headers = _place(authenticated_user(request), lines, partial)
            return Response(body, headers=headers)

        # With a key: run once, store the answer in the order's transaction, replay it on a retry.
        # Besides a 200, only the 404 out-of-stock is stored (SPEC §2).
        return idempotent(request, key, place, stored_refusals=(InsufficientStock,))

    def plain_input(
        self, request: HttpRequest, **kwargs: str
    ) -> tuple[dict[str, int], bool] | None:
        if "HTTP_IDEMPOTENCY_KEY" in request.META:
            return None  # keyed: run once and stored (idempotency/http.py), by the DRF method
        return place_body_accept(json_body(self, request))

    def plain_answer(self, request: HttpRequest, plain: tuple[dict[str, int], bool]) -> Answer:
        lines, partial = plain
        body, headers = _place(authenticated_user(request), lines, partial)
        return body, 200, headers


def _place(
    user: User, lines: dict[str, int], partial: bool
) -> tuple[dict[str, Any], dict[str, str]]:
    """Place the order: the 200's body and headers (ETag, Location)."""
    placed = placement.order_place(user=user, lines=lines, partial=partial)
    order = placed.order
    body = placed_body(order, placed.lines, placed.prices, placed.out_of_stock)
    return body, {"Location": f"/orders/{order.id}", "ETag": etag_for(order.version)}


class OrderDetailApi(FastPathApi):
    fast_method = "GET"

    class InputSerializer(StrictSerializer):
        products = serializers.ListField(
            child=EditLineSerializer(), min_length=1, max_length=MAX_LINES, required=False
        )
        order_status = StrictChoiceField(choices=OrderStatus.values, required=False)

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if len(attrs) != 1:
                raise serializers.ValidationError("Send either products or order_status.")
            return attrs

    @openapi.ORDER_GET
    def get(self, request: Request, order_id: str) -> Response:
        body, headers = _order(order_id, authenticated_user(request))
        return Response(body, headers=headers)

    def plain_input(self, request: HttpRequest, **kwargs: str) -> str:
        return kwargs["order_id"]

    def plain_answer(self, request: HttpRequest, order_id: str) -> Answer:
        body, headers = _order(order_id, authenticated_user(request))
        return body, 200, headers

    @openapi.ORDER_EDIT
    def patch(self, request: Request, order_id: str) -> Response:
        _check_order_id(order_id)
        if (
            isinstance(request.data, dict)
            and "order_status" in request.data
            and not authenticated_user(request).is_staff
        ):
            raise exceptions.PermissionDenied()
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if_match = if_match_versions(request)
        if "order_status" in data:
            # Body and ETag from the one read made under the order's lock: the same version.
            moved = services.order_set_status(
                order_id=order_id,
                user=authenticated_user(request),
                status=data["order_status"],
                if_match=if_match,
            )
            return _order_response(order_body(moved.order, moved.lines, moved.prices), moved.order)
        updated = services.order_update_lines(
            order_id=order_id,
            user=authenticated_user(request),
            lines=_lines(data["products"]),
            if_match=if_match,
        )
        body = updated_body(updated.order, updated.lines, updated.prices, updated.changes)
        return _order_response(body, updated.order)

    @openapi.ORDER_CANCEL
    def delete(self, request: Request, order_id: str) -> Response:
        _check_order_id(order_id)
        order = services.order_cancel(
            order_id=order_id, user=authenticated_user(request), if_match=if_match_versions(request)
        )
        return _order_response(cancelled_body(), order)
