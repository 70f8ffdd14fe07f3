"""The OpenAPI description of the event feed and the webhook endpoints."""

from datetime import UTC, datetime

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers

from orderservice.api import errors, openapi
from orderservice.events.event_types import EVENT_FILTERS, EVENT_TYPES
from orderservice.events.models import DELIVERY_ID_PATTERN, WEBHOOK_ID_PATTERN, DeliveryStatus

# --- bodies ----------------------------------------------------------------------------------


class EventSerializer(serializers.Serializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        return {  # `data` would shadow Serializer.data as a class attribute
            "event_id": serializers.CharField(help_text="`evt_…`, opaque."),
            "type": serializers.ChoiceField(choices=list(EVENT_TYPES)),
            "created_at": serializers.DateTimeField(),
            "data": serializers.DictField(
                help_text="The order (GET shape, plus `user` and `version`) or the product "
                "(GET shape), as committed by the change."
            ),
        }


class EventPageSerializer(serializers.Serializer):
    results = EventSerializer(many=True)
    next = serializers.URLField(
        allow_null=True,
        help_text="The next page; null when this page reaches the end of the feed (then poll "
        "again with `?after=<last event_id>`).",
    )


class WebhookSerializer(serializers.Serializer):
    webhook_id = serializers.CharField()
    url = serializers.CharField()
    events = serializers.ListField(child=serializers.ChoiceField(choices=list(EVENT_FILTERS)))
    description = serializers.CharField(allow_blank=True)
    enabled = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class WebhookCreatedSerializer(WebhookSerializer):
    secret = serializers.CharField(
        help_text="`whsec_…`: the signing secret (Standard Webhooks). Shown only here."
    )


class WebhookPageSerializer(serializers.Serializer):
    results = WebhookSerializer(many=True)
    next = serializers.URLField(allow_null=True, help_text="The next page, or null.")


class AttemptSerializer(serializers.Serializer):
    attempted_at = serializers.DateTimeField()
    status_code = serializers.IntegerField(allow_null=True, help_text="Null: no HTTP answer.")
    duration_ms = serializers.IntegerField(min_value=0)
    error = serializers.CharField(allow_null=True)


class DeliverySerializer(serializers.Serializer):
    delivery_id = serializers.CharField()
    event_id = serializers.CharField()
    event_type = serializers.CharField(help_text="The event's `type`.")
    status = serializers.ChoiceField(choices=DeliveryStatus.values)
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    attempts = AttemptSerializer(many=True)


class DeliveryPageSerializer(serializers.Serializer):
    results = DeliverySerializer(many=True)
    next = serializers.URLField(allow_null=True, help_text="The next page, or null.")


# --- parameters and examples -------------------------------------------------------------------

WEBHOOK_ID = OpenApiParameter("webhook_id", str, OpenApiParameter.PATH, pattern=WEBHOOK_ID_PATTERN)
DELIVERY_ID = OpenApiParameter(
    "delivery_id", str, OpenApiParameter.PATH, pattern=DELIVERY_ID_PATTERN
)
FEED_PARAMETERS = [
    OpenApiParameter(
        "after",
        {"type": "string", "pattern": r"^evt_[0-9a-f]{32}$"},
        description="Start after this event (the last `event_id` you saw).",
    ),
    OpenApiParameter(
        "type",
        {"type": "string", "enum": list(EVENT_FILTERS)},
        description="Only events of this type, or of this family (`order.*`).",
    ),
    OpenApiParameter(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
        description="Page size, 1 to 1000 (default 100); out of range is 400.",
    ),
]
_AT = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
_WEBHOOK = {
    "webhook_id": "wh_5f0c6a1d9e2b4c7a8d3e1f20",
    "url": "https://warehouse.example.com/hooks/orders",
    "events": ["order.*", "product.out_of_stock"],
    "description": "Warehouse picking",
    "enabled": True,
    "created_at": _AT,
}
WEBHOOK_CREATE_REQUEST = OpenApiExample(
    "create",
    value={key: _WEBHOOK[key] for key in ("url", "events", "description")},
    request_only=True,
)
WEBHOOK = OpenApiExample(
    "webhook", value=openapi.as_sent(_WEBHOOK), response_only=True, status_codes=["200"]
)
WEBHOOK_CREATED = OpenApiExample(
    "created",
    value=openapi.as_sent({**_WEBHOOK, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}),
    response_only=True,
    status_codes=["201"],
)
URL_REFUSED = openapi.error_example(
    errors.INVALID_REQUEST,
    "URL refused (SSRF guard)",
    name="url-refused",
    details={"url": ["Must not point to a loopback, private, link-local or otherwise internal "
                     "address (localhost is 127.0.0.1)."]},
)  # fmt: skip
_STAFF_ERRORS = (errors.PERMISSION_DENIED,)
_NOT_FOUND = (errors.NOT_FOUND,)

# --- the operations ------------------------------------------------------------------------

EVENT_FEED = extend_schema(
    operation_id="event_feed",
    summary="The event feed, oldest first (staff)",
    description=(
        "Every committed change, in commit order. Follow `next`, then poll with "
        "`?after=<last event_id>`: you see every event exactly once. Kept EVENT_RETENTION_DAYS "
        "(30 by default)."
    ),
    parameters=FEED_PARAMETERS,
    responses={
        200: EventPageSerializer,
        **openapi.error_responses(openapi.BAD_PAGE, *_STAFF_ERRORS),
    },
)
WEBHOOK_LIST = extend_schema(
    operation_id="webhook_list",
    summary="List webhook endpoints, newest first (staff)",
    parameters=[openapi.LIMIT, openapi.CURSOR],
    responses={
        200: WebhookPageSerializer,
        **openapi.error_responses(openapi.BAD_PAGE, *_STAFF_ERRORS),
    },
)
WEBHOOK_CREATE = extend_schema(
    operation_id="webhook_create",
    summary="Register a webhook endpoint (staff); the answer shows its secret, once",
    description=(
        "`url` must be https:// and resolve to public addresses only (unless the server allows "
        "http or private addresses). Deliveries are signed per Standard Webhooks with `secret`."
    ),
    parameters=[openapi.location_header(201, "webhook")],
    responses={
        201: WebhookCreatedSerializer,
        **openapi.error_responses(
            openapi.INVALID_BODY, openapi.MALFORMED_JSON, URL_REFUSED, *_STAFF_ERRORS
        ),
    },
    examples=[WEBHOOK_CREATE_REQUEST, WEBHOOK_CREATED],
)
WEBHOOK_GET = extend_schema(
    operation_id="webhook_get",
    summary="View a webhook endpoint (staff)",
    parameters=[WEBHOOK_ID],
    responses={200: WebhookSerializer, **openapi.error_responses(*_STAFF_ERRORS, *_NOT_FOUND)},
    examples=[WEBHOOK],
)
WEBHOOK_EDIT = extend_schema(
    operation_id="webhook_edit",
    summary="Change a webhook endpoint's url, events or enabled (staff)",
    parameters=[WEBHOOK_ID],
    responses={
        200: WebhookSerializer,
        **openapi.error_responses(openapi.INVALID_BODY, URL_REFUSED, *_STAFF_ERRORS, *_NOT_FOUND),
    },
    examples=[WEBHOOK],
    extensions={openapi.BODY_RULES: {"minProperties": 1}},
)
WEBHOOK_DELETE = extend_schema(
    operation_id="webhook_delete",
    summary="Delete a webhook endpoint and its deliveries (staff)",
    parameters=[WEBHOOK_ID],
    responses={
        204: OpenApiResponse(description="Deleted."),
        **openapi.error_responses(*_STAFF_ERRORS, *_NOT_FOUND),
    },
)
DELIVERY_LIST = extend_schema(
    operation_id="webhook_delivery_list",
    summary="A webhook endpoint's deliveries, newest first (staff)",
    parameters=[WEBHOOK_ID, openapi.LIMIT, openapi.CURSOR],
    responses={
        200: DeliveryPageSerializer,
        **openapi.error_responses(openapi.BAD_PAGE, *_STAFF_ERRORS, *_NOT_FOUND),
    },
)
DELIVERY_RETRY = extend_schema(
    operation_id="webhook_delivery_retry",
    summary="Send a delivery again, now, with the same webhook-id (staff)",
    parameters=[WEBHOOK_ID, DELIVERY_ID],
    request=None,
    responses={
        202: OpenApiResponse(DeliverySerializer, description="Accepted: the attempt is queued."),
        **openapi.error_responses(*_STAFF_ERRORS, *_NOT_FOUND),
    },
)
