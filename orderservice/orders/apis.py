"""HTTP endpoints for orders: parse, call one service or selector, shape the answer."""

import re
from datetime import UTC, datetime
from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import (
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from orderservice.api import errors, schema
from orderservice.api.authentication import authenticated_user
from orderservice.api.fields import (
    ProductIdField,
    StrictChoiceField,
    StrictIntegerField,
    StrictSerializer,
)
from orderservice.api.http import etag_for, if_match_versions
from orderservice.api.idempotency import idempotency_key, idempotent
from orderservice.api.pagination import bad_cursor, page_body, page_cursor, page_limit
from orderservice.orders import selectors, services
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


# Response bodies, for the OpenAPI document only: the views build them as plain dicts.


class OrderLineSerializer(serializers.Serializer):
    product_id = serializers.CharField()
    item_count = serializers.IntegerField(min_value=1)


class PlacedLineSerializer(serializers.Serializer):
    product_id = serializers.CharField()
    product_count = serializers.IntegerField(min_value=1, help_text="Same as item_count.")
    item_count = serializers.IntegerField(min_value=1)


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
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class OrderPageSerializer(serializers.Serializer):
    results = OrderSerializer(many=True)
    next = serializers.URLField(allow_null=True, help_text="The next page, or null.")


class OrderPlacedSerializer(serializers.Serializer):
    message = schema.constant_field("Success! Order placed")
    order_id = serializers.CharField()
    order_status = serializers.ChoiceField(choices=OrderStatus.values)
    products = PlacedLineSerializer(many=True, help_text="What was ordered.")
    out_of_stock = ShortageSerializer(many=True, help_text="Lines not filled; [] when all were.")


class OrderUpdatedSerializer(serializers.Serializer):
    message = schema.constant_field("Order successfully updated")
    order_id = serializers.CharField()
    order_status = serializers.ChoiceField(choices=OrderStatus.values)
    products = OrderLineSerializer(many=True, help_text="The whole order after the change.")
    changes = LineChangeSerializer(many=True, help_text="What was added, changed or removed.")


class OrderCancelledSerializer(serializers.Serializer):
    message = schema.constant_field("Order successfully cancelled")


def _lines(validated: list[dict[str, Any]]) -> dict[str, int]:
    return merge_lines((line["product_id"], line["item_count"]) for line in validated)


def _order_body(order: Order, lines: dict[str, int]) -> dict[str, Any]:
    return {
        "order_id": order.id,
        "order_status": order.status,
        "products": [{"product_id": pid, "item_count": count} for pid, count in lines.items()],
        "created_at": order.created_at,
        "updated_at": order.updated_at,
    }


def _order_response(body: dict[str, Any], order: Order, **kwargs: Any) -> Response:
    response = Response(body, **kwargs)
    response["ETag"] = etag_for(order.version)
    return response


def _check_order_id(order_id: str) -> None:
    if not re.fullmatch(ORDER_ID_PATTERN, order_id):
        raise serializers.ValidationError({"order_id": ["Not an order id of this service."]})


class OrderListApi(APIView):
    class InputSerializer(StrictSerializer):
        products = serializers.ListField(
            child=PlaceLineSerializer(), min_length=1, max_length=MAX_LINES
        )
        fulfillment = StrictChoiceField(
            choices=["partial", "all_or_nothing"], required=False, default="partial"
        )

    @extend_schema(
        operation_id="order_list",
        summary="List orders",
        description="Your orders (staff: everyone's), newest first, a page at a time.",
        parameters=[schema.LIMIT, schema.ORDER_STATUS_FILTER, schema.CURSOR],
        responses={200: OrderPageSerializer, **schema.error_responses(schema.BAD_PAGE)},
        examples=[schema.ORDER_PAGE],
    )
    def get(self, request: Request) -> Response:
        limit = page_limit(request)
        status = request.query_params.get("status")
        if status is not None and status not in OrderStatus.values:
            raise serializers.ValidationError(
                {"status": [f"Must be one of: {', '.join(OrderStatus.values)}."]}
            )
        orders = selectors.order_list_for_user(
            user=authenticated_user(request),
            status=status,
            after=_order_cursor(request),
            limit=limit + 1,
        )
        page = orders[:limit]
        position = [page[-1].created_at.isoformat(), page[-1].id] if page else []
        results = [_order_body(order, selectors.order_lines(order)) for order in page]
        return Response(page_body(request, results, len(orders), limit, position))

    @extend_schema(
        operation_id="order_place",
        summary="Place an order",
        description=(
            "`partial` (default): every line the stock can fill in full is filled, the others are "
            "listed in `out_of_stock`; 404 when no line can be filled. `all_or_nothing`: 404 "
            "when any line is short. Duplicate lines are merged. Nothing changes on an error."
        ),
        request=InputSerializer,
        parameters=[
            schema.IDEMPOTENCY_KEY,
            schema.location_header(200, "order"),
            schema.etag_header(200),
            schema.IDEMPOTENT_REPLAYED,
            schema.RETRY_AFTER_IN_FLIGHT,
        ],
        responses={
            200: OrderPlacedSerializer,
            **schema.error_responses(
                schema.INVALID_BODY,
                schema.UNKNOWN_PRODUCTS,
                schema.MALFORMED_JSON,
                schema.BAD_IDEMPOTENCY_KEY,
                schema.OUT_OF_STOCK_PLACE,
                errors.IDEMPOTENCY_KEY_IN_FLIGHT,
                errors.IDEMPOTENCY_KEY_REUSED,
            ),
        },
        examples=[
            schema.PLACE_PARTIAL_REQUEST,
            schema.PLACE_ALL_OR_NOTHING_REQUEST,
            schema.PLACED_PARTIAL,
            schema.PLACED_FULL,
        ],
    )
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
            placed = services.order_place(
                user=authenticated_user(request), lines=lines, partial=partial
            )
            order = placed.order
            body = {
                "message": "Success! Order placed",
                "order_id": order.id,
                "order_status": order.status,
                "products": [
                    {"product_id": pid, "product_count": count, "item_count": count}
                    for pid, count in placed.lines.items()
                ],
                "out_of_stock": [
                    {"product_id": s.product_id, "requested": s.requested, "available": s.available}
                    for s in placed.out_of_stock
                ],
            }
            return _order_response(body, order, headers={"Location": f"/orders/{order.id}"})

        # With a key: run once, store the answer in the order's transaction, replay it on a retry.
        return idempotent(request, key, place)


# A position in a `next` link: the last order's created_at (ISO 8601 with its UTC offset), its id.
_CURSOR_TIME = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{6})?[+-][0-9]{2}:[0-9]{2}"
)


def _order_cursor(request: Request) -> tuple[datetime, str] | None:
    position = page_cursor(request, _CURSOR_TIME, ORDER_ID_PATTERN)
    if position is None:
        return None
    created_at, order_id = position
    try:
        # In UTC, as the database compares it: 9999-12-31T23:59-23:59 overflows here, not there.
        return datetime.fromisoformat(created_at).astimezone(UTC), order_id
    except (ValueError, OverflowError) as exc:
        raise bad_cursor() from exc


class OrderDetailApi(APIView):
    class InputSerializer(StrictSerializer):
        products = serializers.ListField(
            child=EditLineSerializer(), min_length=1, max_length=MAX_LINES, required=False
        )
        order_status = StrictChoiceField(choices=OrderStatus.values, required=False)

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if len(attrs) != 1:
                raise serializers.ValidationError("Send either products or order_status.")
            return attrs

    @extend_schema(
        operation_id="order_get",
        summary="View an order",
        parameters=[schema.ORDER_ID, schema.etag_header(200)],
        responses={
            200: OrderSerializer,
            **schema.error_responses(schema.BAD_ORDER_ID, errors.ORDER_NOT_FOUND),
        },
        examples=[schema.ORDER],
    )
    def get(self, request: Request, order_id: str) -> Response:
        _check_order_id(order_id)
        order = selectors.order_get_for_user(order_id=order_id, user=authenticated_user(request))
        return _order_response(_order_body(order, selectors.order_lines(order)), order)

    @extend_schema(
        operation_id="order_edit",
        summary="Edit an order's lines, or (staff) set its status",
        description=(
            "`products`: each line sets that product's count (new products are added, 0 removes, "
            "others stay); all or nothing, the stock moves by the difference. Or, staff only, "
            "`order_status` to move the order along `placed → processing → shipped → delivered` "
            "(or `cancelled`, the same as DELETE). One of the two per request."
        ),
        request=InputSerializer,
        parameters=[schema.ORDER_ID, schema.IF_MATCH, schema.etag_header(200)],
        responses={
            200: PolymorphicProxySerializer(
                component_name="OrderEditResult",
                serializers=[OrderUpdatedSerializer, OrderSerializer],
                resource_type_field_name=None,
            ),
            **schema.error_responses(
                schema.INVALID_BODY,
                schema.BAD_ORDER_ID,
                schema.UNKNOWN_PRODUCTS,
                schema.EMPTY_ORDER,
                errors.PERMISSION_DENIED,
                errors.ORDER_NOT_FOUND,
                schema.OUT_OF_STOCK_EDIT,
                schema.EDIT_CONFLICT,
                schema.TRANSITION_CONFLICT,
                errors.PRECONDITION_FAILED,
            ),
        },
        examples=[
            schema.EDIT_LINES_REQUEST,
            schema.SET_STATUS_REQUEST,
            schema.EDITED,
            schema.STATUS_SET,
        ],
    )
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
            order = services.order_set_status(
                order_id=order_id,
                user=authenticated_user(request),
                status=data["order_status"],
                if_match=if_match,
            )
            refreshed = selectors.order_get_for_user(
                order_id=order.id, user=authenticated_user(request)
            )
            return _order_response(_order_body(refreshed, selectors.order_lines(refreshed)), order)
        updated = services.order_update_lines(
            order_id=order_id,
            user=authenticated_user(request),
            lines=_lines(data["products"]),
            if_match=if_match,
        )
        order = updated.order
        body = {
            "message": "Order successfully updated",
            "order_id": order.id,
            "order_status": order.status,
            "products": [
                {"product_id": pid, "item_count": count} for pid, count in updated.lines.items()
            ],
            "changes": [
                {"product_id": c.product_id, "from": c.before, "to": c.after}
                for c in updated.changes
            ],
        }
        return _order_response(body, order)

    @extend_schema(
        operation_id="order_cancel",
        summary="Cancel an order",
        description="The order stays, as `cancelled`; its items go back to stock exactly once.",
        parameters=[schema.ORDER_ID, schema.IF_MATCH, schema.etag_header(200)],
        responses={
            200: OpenApiResponse(OrderCancelledSerializer, examples=[schema.CANCELLED]),
            **schema.error_responses(
                schema.BAD_ORDER_ID,
                errors.ORDER_NOT_FOUND,
                schema.CANCEL_CONFLICT,
                schema.CANCEL_SHIPPED_CONFLICT,
                errors.PRECONDITION_FAILED,
            ),
        },
    )
    def delete(self, request: Request, order_id: str) -> Response:
        _check_order_id(order_id)
        order = services.order_cancel(
            order_id=order_id, user=authenticated_user(request), if_match=if_match_versions(request)
        )
        return _order_response({"message": "Order successfully cancelled"}, order)
