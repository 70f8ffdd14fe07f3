"""HTTP endpoints (staff only): the event feed, webhook endpoints and their deliveries."""

import re
from typing import Any

from rest_framework import serializers
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from orderservice.api.fields import StrictCharField, StrictChoiceField, StrictSerializer
from orderservice.api.pagination import page_body, page_limit, page_time_cursor
from orderservice.events import openapi, selectors, services
from orderservice.events.bodies import (
    delivery_body,
    event_body,
    webhook_body,
    webhook_created_body,
)
from orderservice.events.event_types import EVENT_FILTERS
from orderservice.events.models import DELIVERY_ID_PATTERN, WEBHOOK_ID_PATTERN
from orderservice.events.selectors import Position
from orderservice.events.urlguard import MAX_URL_LENGTH

FEED_DEFAULT_LIMIT = 100
FEED_MAX_LIMIT = 1000
EVENT_ID_PATTERN = r"evt_[0-9a-f]{32}"
MAX_DESCRIPTION = 500


class StrictBooleanField(serializers.BooleanField):
    """A JSON true or false only (DRF would take "yes", 1, "on")."""

    default_error_messages = {"invalid": "Must be a JSON boolean."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StaffApi(APIView):
    def get_permissions(self) -> list[Any]:
        return [*super().get_permissions(), IsAdminUser()]


def _invalid(field: str, message: str) -> serializers.ValidationError:
    return serializers.ValidationError({field: [message]})


def _check_id(name: str, value: str, pattern: str) -> None:
    if not re.fullmatch(pattern, value):
        raise _invalid(name, f"Not a {name.split('_')[0]} id of this service.")


class EventFeedApi(StaffApi):
    @openapi.EVENT_FEED
    def get(self, request: Request) -> Response:
        limit = _feed_limit(request)
        event_filter = request.query_params.get("type")
        if event_filter is not None and event_filter not in EVENT_FILTERS:
            raise _invalid("type", f"Must be one of: {', '.join(EVENT_FILTERS)}.")
        events = selectors.event_feed(
            after=_feed_after(request), event_filter=event_filter, limit=limit + 1
        )
        page = events[:limit]
        next_url = None
        if len(events) > limit:
            params = request.query_params.copy()
            params["after"] = page[-1].event_id
            next_url = request.build_absolute_uri(f"{request.path}?{params.urlencode()}")
        return Response({"results": [event_body(event) for event in page], "next": next_url})


def _feed_limit(request: Request) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return FEED_DEFAULT_LIMIT
    if not re.fullmatch(r"[0-9]{1,4}", raw) or not 1 <= int(raw) <= FEED_MAX_LIMIT:
        raise _invalid("limit", f"Must be an integer from 1 to {FEED_MAX_LIMIT}.")
    return int(raw)


def _feed_after(request: Request) -> Position | None:
    event_id = request.query_params.get("after")
    if event_id is None:
        return None
    if not re.fullmatch(EVENT_ID_PATTERN, event_id):
        raise _invalid("after", "Not an event id of this service.")
    return selectors.event_position(event_id=event_id)


def _events_field(*, required: bool = True) -> serializers.ListField:
    return serializers.ListField(
        child=StrictChoiceField(choices=list(EVENT_FILTERS)),
        min_length=1,
        max_length=len(EVENT_FILTERS),
        required=required,
    )


class WebhookListApi(StaffApi):
    class InputSerializer(StrictSerializer):
        url = StrictCharField(min_length=1, max_length=MAX_URL_LENGTH)
        events = _events_field()
        description = StrictCharField(max_length=MAX_DESCRIPTION, required=False, default="")

    @openapi.WEBHOOK_LIST
    def get(self, request: Request) -> Response:
        limit = page_limit(request)
        endpoints = selectors.webhook_list(
            after=page_time_cursor(request, WEBHOOK_ID_PATTERN), limit=limit + 1
        )
        page = endpoints[:limit]
        position = [page[-1].created_at.isoformat(), page[-1].webhook_id] if page else []
        results = [webhook_body(endpoint) for endpoint in page]
        return Response(page_body(request, results, len(endpoints), limit, position))

    @openapi.WEBHOOK_CREATE
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        created = services.webhook_create(**serializer.validated_data)
        endpoint = created.endpoint
        return Response(
            webhook_created_body(endpoint, created.secret),
            status=201,
            headers={"Location": f"/webhooks/{endpoint.webhook_id}"},
        )


class WebhookDetailApi(StaffApi):
    class InputSerializer(StrictSerializer):
        url = StrictCharField(min_length=1, max_length=MAX_URL_LENGTH, required=False)
        events = _events_field(required=False)
        enabled = StrictBooleanField(required=False)

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if not attrs:
                raise serializers.ValidationError("Send at least one of url, events, enabled.")
            return attrs

    @openapi.WEBHOOK_GET
    def get(self, request: Request, webhook_id: str) -> Response:
        _check_id("webhook_id", webhook_id, WEBHOOK_ID_PATTERN)
        return Response(webhook_body(selectors.webhook_get(webhook_id=webhook_id)))

    @openapi.WEBHOOK_EDIT
    def patch(self, request: Request, webhook_id: str) -> Response:
        _check_id("webhook_id", webhook_id, WEBHOOK_ID_PATTERN)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = services.webhook_update(webhook_id=webhook_id, **serializer.validated_data)
        return Response(webhook_body(endpoint))

    @openapi.WEBHOOK_DELETE
    def delete(self, request: Request, webhook_id: str) -> Response:
        _check_id("webhook_id", webhook_id, WEBHOOK_ID_PATTERN)
        services.webhook_delete(webhook_id=webhook_id)
        return Response(status=204)


class DeliveryListApi(StaffApi):
    @openapi.DELIVERY_LIST
    def get(self, request: Request, webhook_id: str) -> Response:
        _check_id("webhook_id", webhook_id, WEBHOOK_ID_PATTERN)
        limit = page_limit(request)
        deliveries = selectors.delivery_list(
            webhook_id=webhook_id,
            after=page_time_cursor(request, DELIVERY_ID_PATTERN),
            limit=limit + 1,
        )
        page = deliveries[:limit]
        position = [page[-1].created_at.isoformat(), page[-1].delivery_id] if page else []
        results = [delivery_body(delivery) for delivery in page]
        return Response(page_body(request, results, len(deliveries), limit, position))


class DeliveryRetryApi(StaffApi):
    @openapi.DELIVERY_RETRY
    def post(self, request: Request, webhook_id: str, delivery_id: str) -> Response:
        _check_id("webhook_id", webhook_id, WEBHOOK_ID_PATTERN)
        _check_id("delivery_id", delivery_id, DELIVERY_ID_PATTERN)
        delivery = services.delivery_retry(webhook_id=webhook_id, delivery_id=delivery_id)
        return Response(delivery_body(delivery), status=202)
