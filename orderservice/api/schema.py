"""The OpenAPI document: the shared error body, cross-cutting responses, headers, examples, links.

Views describe what is theirs with `@extend_schema` (their success body and the errors only they
answer). `AutoSchema` adds what every operation shares: 400, 401 when authentication is required,
413/415 when there is a body, 429 when a throttle applies, 500 and 503, each with the one `Error`
component, and `Retry-After`/`WWW-Authenticate` where they are sent. A new cross-cutting error is
one line in `AutoSchema._shared_errors`.
"""

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from django.urls import Resolver404, resolve
from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema_field,
)
from rest_framework import permissions, serializers

from orderservice.api import errors
from orderservice.api.errors import ErrorKind
from orderservice.api.fields import ID_REGEX, StrictSerializer
from orderservice.api.pagination import DEFAULT_LIMIT, MAX_LIMIT
from orderservice.orders.models import ORDER_ID_PATTERN
from orderservice.orders.status import OrderStatus

# Where the examples pretend to run; real bodies carry the server's own URL.
EXAMPLE_BASE = "https://orders.example.com"
EXAMPLE_ORDER_ID = "ord_4f9c2a7d1e3b5c6a8d0e2f41"

# --- fields --------------------------------------------------------------------------------


def constant_field(value: str) -> serializers.CharField:
    """A string field documented as exactly `value` (a fixed message of the contract)."""

    @extend_schema_field({"type": "string", "enum": [value]})
    class Constant(serializers.CharField):
        pass

    return Constant(help_text=f"Always `{value}`.")


# --- the error body -------------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField(
        help_text="A fixed sentence per kind of error (see /docs/errors); clients may match on it."
    )
    documentation = serializers.URLField(
        help_text="Absolute URL of the section of /docs/errors that explains this error."
    )
    details = serializers.DictField(
        required=False,
        help_text=(
            "Machine-readable specifics, when there are any: for 400 the invalid fields "
            '(`{"products[0].item_count": ["Must be a JSON integer."]}`) or '
            '`{"unknown_products": [...]}`; for 404 out of stock '
            '`{"out_of_stock": [{"product_id", "requested", "available"}]}`.'
        ),
    )


def error_body(
    kind: ErrorKind, *, details: Mapping[str, Any] | None = None, message: str | None = None
) -> dict[str, Any]:
    """An error body as the server sends it, with the example base URL."""
    body: dict[str, Any] = {
        "error": message or kind.message,
        "documentation": f"{EXAMPLE_BASE}/docs/errors#{kind.slug}",
    }
    if details:
        body["details"] = details
    return body


def error_example(
    kind: ErrorKind,
    summary: str | None = None,
    *,
    details: Mapping[str, Any] | None = None,
    message: str | None = None,
    name: str | None = None,
) -> OpenApiExample:
    return OpenApiExample(
        name or summary or kind.slug,
        summary=summary or kind.message,
        value=error_body(kind, details=details, message=message),
        response_only=True,
        status_codes=[str(kind.status)],
    )


def error_responses(*items: ErrorKind | OpenApiExample) -> dict[int, OpenApiResponse]:
    """`{status: OpenApiResponse(Error, ...)}` for `@extend_schema(responses=...)`.

    Each item is an ErrorKind (its plain body as the example) or an `error_example(...)`; items
    with the same status share one response with several examples.
    """
    grouped: dict[int, list[OpenApiExample]] = defaultdict(list)
    descriptions: dict[int, list[str]] = defaultdict(list)
    for item in items:
        example = error_example(item) if isinstance(item, ErrorKind) else item
        status = int(example.status_codes[0]) if example.status_codes else 400
        grouped[status].append(example)
        text = (example.value or {}).get("error", "")
        if text and text not in descriptions[status]:
            descriptions[status].append(text)
    return {
        status: OpenApiResponse(
            ErrorSerializer,
            description=" / ".join(f"`{text}`" for text in descriptions[status]),
            examples=grouped[status],
        )
        for status in sorted(grouped)
    }


# Examples of 400 bodies, reused by every operation that validates a body.
INVALID_BODY = error_example(
    errors.INVALID_REQUEST,
    "Failed validation: one entry per field",
    name="invalid-body",
    details={
        "products[0].item_count": ["Must be a JSON integer."],
        "products[1].product_id": ["Must be 1 to 64 characters of A-Z a-z 0-9 . _ -"],
        "colour": ["Unknown field."],
    },
)
MALFORMED_JSON = error_example(
    errors.INVALID_REQUEST,
    "Body is not valid JSON",
    name="malformed-json",
    details={"body": ["JSON parse error - Expecting value: line 1 column 1 (char 0)"]},
)
UNKNOWN_PRODUCTS = error_example(
    errors.INVALID_REQUEST,
    "A product_id that does not exist",
    name="unknown-products",
    details={"unknown_products": ["SKU-404"]},
)
BAD_ORDER_ID = error_example(
    errors.INVALID_REQUEST,
    "Path order_id not of the server's format",
    name="bad-order-id",
    details={"order_id": ["Not an order id of this service."]},
)
BAD_PRODUCT_ID = error_example(
    errors.INVALID_REQUEST,
    "Path product_id not a valid SKU",
    name="bad-product-id",
    details={"product_id": ["Must be 1 to 64 characters of A-Z a-z 0-9 . _ -"]},
)
BAD_PAGE = error_example(
    errors.INVALID_REQUEST,
    "Query parameter out of range",
    name="bad-query",
    details={"limit": [f"Must be an integer from 1 to {MAX_LIMIT}."]},
)
OUT_OF_STOCK_PLACE = error_example(
    errors.OUT_OF_STOCK,
    "Stock cannot fill the order (all_or_nothing, or no line fillable)",
    name="out-of-stock",
    details={"out_of_stock": [{"product_id": "SKU-9", "requested": 5, "available": 2}]},
)
OUT_OF_STOCK_EDIT = error_example(
    errors.OUT_OF_STOCK,
    "Stock cannot fill an increase (requested: the extra units needed)",
    name="out-of-stock",
    details={"out_of_stock": [{"product_id": "SKU-1", "requested": 3, "available": 1}]},
)
EMPTY_ORDER = error_example(
    errors.INVALID_REQUEST,
    "The change would leave the order without items",
    name="empty-order",
    details={
        "products": [
            "The change would leave the order without items; cancel it with DELETE instead."
        ]
    },
)
EDIT_CONFLICT = error_example(
    errors.CONFLICT,
    "Order can no longer be edited",
    name="not-editable",
    message="Order is shipped and can no longer be edited.",
)
TRANSITION_CONFLICT = error_example(
    errors.CONFLICT,
    "Status transition outside the pipeline",
    name="bad-transition",
    message="Order cannot move from placed to delivered.",
)
CANCEL_CONFLICT = error_example(
    errors.CONFLICT,
    "Order already cancelled",
    name="already-cancelled",
    message="Order is already cancelled.",
)
CANCEL_SHIPPED_CONFLICT = error_example(
    errors.CONFLICT,
    "Order already shipped",
    name="already-shipped",
    message="Order is already shipped and can no longer be cancelled.",
)
PRODUCT_EXISTS = error_example(
    errors.CONFLICT,
    "product_id taken",
    name="product-exists",
    message="A product with this product_id already exists.",
)
BAD_IDEMPOTENCY_KEY = error_example(
    errors.INVALID_REQUEST,
    "Idempotency-Key empty, too long or not printable ASCII",
    name="bad-idempotency-key",
    details={"Idempotency-Key": ["Must be 1 to 255 printable ASCII characters."]},
)

# --- headers and parameters -----------------------------------------------------------------

ETAG_DESCRIPTION = (
    'The order\'s current version as a strong entity tag (`"3"`); it changes on every change. '
    "Send it back in `If-Match` to edit or cancel only the version you saw."
)


def etag_header(*statuses: int) -> OpenApiParameter:
    return OpenApiParameter(
        "ETag",
        str,
        OpenApiParameter.HEADER,
        required=True,
        description=ETAG_DESCRIPTION,
        response=list(statuses),
    )


def location_header(status: int, what: str) -> OpenApiParameter:
    return OpenApiParameter(
        "Location",
        str,
        OpenApiParameter.HEADER,
        required=True,
        description=f"Path of the new {what}.",
        response=[status],
    )


IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    description=(
        "Optional optimistic concurrency: the `ETag` of the order as you last saw it. A value "
        "that is not the current one answers 412 and changes nothing. `*` matches any version."
    ),
    examples=[OpenApiExample("version 3", value='"3"')],
)
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
PRODUCT_ID = OpenApiParameter(
    "product_id",
    str,
    OpenApiParameter.PATH,
    pattern=ID_REGEX,
    description="The product's SKU: 1 to 64 characters of `A-Z a-z 0-9 . _ -`.",
)
LIMIT = OpenApiParameter(
    "limit",
    {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
    description=f"Page size, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT}); out of range is 400.",
)
CURSOR = OpenApiParameter(
    "cursor",
    {"type": "string", "minLength": 1, "pattern": "^[A-Za-z0-9_:-]+$"},  # signed: base64:signature
    description=(
        "Opaque position taken from a previous page's `next` link; never build one (a value "
        "that is not from a `next` link is 400)."
    ),
)
ORDER_STATUS_FILTER = OpenApiParameter(
    "status",
    str,
    enum=OrderStatus.values,
    description="Only orders in this status; an unknown status is 400.",
)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]{1,255}$"},
    OpenApiParameter.HEADER,
    description=(
        "Optional, 1 to 255 printable ASCII characters, e.g. a UUID. The same user sending the "
        "same key with the same body within 24 hours gets the first answer (200, or 404 out of "
        "stock) replayed, with `Idempotent-Replayed: true`, and no second order. The same key "
        "with another body is 422; while the first request still runs, 409."
    ),
    examples=[OpenApiExample("uuid", value="5f0c7a52-8d1e-4a57-9a3b-2f6e1c0d9b47")],
)
IDEMPOTENT_REPLAYED = OpenApiParameter(
    "Idempotent-Replayed",
    {"type": "string", "enum": ["true"]},
    OpenApiParameter.HEADER,
    description="Present on an answer replayed for a repeated Idempotency-Key.",
    response=[200, 404],
)
RETRY_AFTER_IN_FLIGHT = OpenApiParameter(
    "Retry-After",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    description="With `idempotency-key-in-flight`: seconds to wait before retrying.",
    response=[409],
)
RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    required=True,
    description="Seconds to wait before retrying.",
    response=[429, 503],
)
WWW_AUTHENTICATE = OpenApiParameter(
    "WWW-Authenticate",
    str,
    OpenApiParameter.HEADER,
    description="The scheme to authenticate with (`Token`).",
    response=[401],
)

# --- request and response examples ----------------------------------------------------------

PLACE_PARTIAL_REQUEST = OpenApiExample(
    "partial",
    summary="Partial fulfilment (the default)",
    value={
        "products": [
            {"product_id": "SKU-1", "item_count": 2},
            {"product_id": "SKU-9", "item_count": 5},
        ]
    },
    request_only=True,
)
PLACE_ALL_OR_NOTHING_REQUEST = OpenApiExample(
    "all_or_nothing",
    summary="All or nothing",
    value={
        "products": [
            {"product_id": "SKU-1", "item_count": 2},
            {"product_id": "SKU-9", "item_count": 5},
        ],
        "fulfillment": "all_or_nothing",
    },
    request_only=True,
)
PLACED_PARTIAL = OpenApiExample(
    "partial",
    summary="Placed; one line could not be filled",
    value={
        "message": "Success! Order placed",
        "order_id": EXAMPLE_ORDER_ID,
        "order_status": "placed",
        "products": [{"product_id": "SKU-1", "product_count": 2, "item_count": 2}],
        "out_of_stock": [{"product_id": "SKU-9", "requested": 5, "available": 2}],
    },
    response_only=True,
    status_codes=["200"],
)
PLACED_FULL = OpenApiExample(
    "filled",
    summary="Placed; every line filled",
    value={
        "message": "Success! Order placed",
        "order_id": EXAMPLE_ORDER_ID,
        "order_status": "placed",
        "products": [{"product_id": "SKU-1", "product_count": 2, "item_count": 2}],
        "out_of_stock": [],
    },
    response_only=True,
    status_codes=["200"],
)
_ORDER = {
    "order_id": EXAMPLE_ORDER_ID,
    "order_status": "placed",
    "products": [{"product_id": "SKU-1", "item_count": 2}],
    "created_at": "2026-11-25T10:00:00Z",
    "updated_at": "2026-11-25T10:00:00Z",
}
ORDER = OpenApiExample("order", value=_ORDER, response_only=True, status_codes=["200"])
ORDER_PAGE = OpenApiExample(
    "page",
    summary="A page with more after it",
    value={
        "results": [_ORDER],
        "next": f"{EXAMPLE_BASE}/orders?limit=1&cursor=WyIyMDI2LTExLTI1VDEwOjAwOjAwKzAwOjAwIl0",
    },
    response_only=True,
    status_codes=["200"],
)
EDIT_LINES_REQUEST = OpenApiExample(
    "edit lines",
    summary="Set counts: SKU-1 to 5, remove SKU-2",
    value={
        "products": [
            {"product_id": "SKU-1", "item_count": 5},
            {"product_id": "SKU-2", "item_count": 0},
        ]
    },
    request_only=True,
)
SET_STATUS_REQUEST = OpenApiExample(
    "set status (staff)",
    summary="Staff move the order along the pipeline",
    value={"order_status": "processing"},
    request_only=True,
)
EDITED = OpenApiExample(
    "edited",
    summary="Lines changed",
    value={
        "message": "Order successfully updated",
        "order_id": EXAMPLE_ORDER_ID,
        "order_status": "placed",
        "products": [{"product_id": "SKU-1", "item_count": 5}],
        "changes": [
            {"product_id": "SKU-1", "from": 2, "to": 5},
            {"product_id": "SKU-2", "from": 1, "to": 0},
        ],
    },
    response_only=True,
    status_codes=["200"],
)
STATUS_SET = OpenApiExample(
    "status set (staff)",
    summary="Status changed: the whole order",
    value={**_ORDER, "order_status": "processing", "updated_at": "2026-11-25T11:00:00Z"},
    response_only=True,
    status_codes=["200"],
)
CANCELLED = OpenApiExample(
    "cancelled",
    value={"message": "Order successfully cancelled"},
    response_only=True,
    status_codes=["200"],
)
_PRODUCT = {"product_id": "SKU-1", "name": "Blue mug", "product_count": 40}
PRODUCT = OpenApiExample("product", value=_PRODUCT, response_only=True, status_codes=["200", "201"])
PRODUCT_PAGE = OpenApiExample(
    "page",
    value={"results": [_PRODUCT], "next": None},
    response_only=True,
    status_codes=["200"],
)
PRODUCT_CREATE_REQUEST = OpenApiExample("create", value=_PRODUCT, request_only=True)
PRODUCT_RESTOCK_REQUEST = OpenApiExample(
    "restock", summary="Add 25 units (safe under concurrent orders)", value={"restock": 25},
    request_only=True,
)  # fmt: skip
PRODUCT_SET_REQUEST = OpenApiExample(
    "set", summary="Set name and stock", value={"name": "Blue mug, large", "product_count": 10},
    request_only=True,
)  # fmt: skip

# --- authentication schemes -----------------------------------------------------------------


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = "orderservice.api.authentication.TokenAuthentication"
    name = "Token"

    def get_security_definition(self, auto_schema: openapi.AutoSchema) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "`Authorization: Token <key>`, with a key from "
                "`python manage.py issue_token USERNAME [--staff]` (enter `Token <key>`)."
            ),
        }


class BearerScheme(OpenApiAuthenticationExtension):
    target_class = "orderservice.api.authentication.BearerAuthentication"
    name = "Bearer"

    def get_security_definition(self, auto_schema: openapi.AutoSchema) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "`Authorization: Bearer <key>`: the same keys as `Token`.",
        }


class IpThrottleScheme(OpenApiAuthenticationExtension):
    """The per-IP rate limit sits among the authentication classes but is no way in."""

    target_class = "orderservice.api.throttling.IpThrottleAuthentication"
    name: list[str] = []
    optional = True

    # None (no requirement) is what spectacular expects here, though its stub does not say so.
    def get_security_requirement(self, auto_schema: openapi.AutoSchema) -> None:  # type: ignore[override]
        return None

    def get_security_definition(self, auto_schema: openapi.AutoSchema) -> list[Any]:
        return []


# --- the schema class -----------------------------------------------------------------------

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_COMPONENT_NAMES = {
    "OrderListApi.InputSerializer": "OrderPlaceRequest",
    "OrderDetailApi.InputSerializer": "OrderEditRequest",
    "ProductListApi.InputSerializer": "ProductCreateRequest",
    "ProductDetailApi.InputSerializer": "ProductEditRequest",
}
_STRICT_DOC = (StrictSerializer.__doc__ or "").strip()
_SUCCESS_DESCRIPTIONS = {"200": "OK", "201": "Created"}


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's AutoSchema plus the errors and headers every operation shares."""

    def get_operation(
        self,
        path: str,
        path_regex: str,
        path_prefix: str,
        method: str,
        registry: Any,
    ) -> dict[str, Any] | None:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses: dict[str, Any] = operation["responses"]
        for status, response in error_responses(*self._shared_errors()).items():
            if str(status) not in responses:
                responses[str(status)] = self._get_response_for_code(response, str(status))
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def get_override_parameters(self) -> list[Any]:
        return [*super().get_override_parameters(), RETRY_AFTER, WWW_AUTHENTICATE]

    def get_serializer_name(
        self, serializer: serializers.Serializer, direction: Literal["request", "response"]
    ) -> str:
        # Nested `InputSerializer`s all share a name; call them after their operation instead.
        qualname = type(serializer).__qualname__
        if qualname in _COMPONENT_NAMES:
            return _COMPONENT_NAMES[qualname]
        match = re.fullmatch(r"(\w+)Api\.(Input|Output)Serializer", qualname)
        if match:
            return f"{match[1]}{match[2]}"
        return super().get_serializer_name(serializer, direction)

    def _shared_errors(self) -> Iterable[ErrorKind]:
        yield errors.INVALID_REQUEST  # bad Content-Length, ... anywhere
        yield errors.NOT_ACCEPTABLE  # an Accept header without JSON, anywhere
        if self._requires_authentication():
            yield errors.UNAUTHENTICATED
        if self.method in _BODY_METHODS:
            yield errors.PAYLOAD_TOO_LARGE
            yield errors.UNSUPPORTED_MEDIA_TYPE
        if self.view.get_throttles():
            yield errors.THROTTLED
        yield errors.INTERNAL_ERROR
        yield errors.INVENTORY_UNAVAILABLE

    def _requires_authentication(self) -> bool:
        allow_any = (permissions.AllowAny,)
        return bool(self.view.get_authenticators()) and not any(
            isinstance(permission, allow_any) for permission in self.view.get_permissions()
        )


# --- post-processing ------------------------------------------------------------------------

# Follow-up operations a client (or schemathesis' stateful phase) can chain from a created
# resource: OpenAPI links, keyed by the creating operation and its success status.
_LINKS: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    ("order_place", "200"): {
        "GetOrder": {
            "operationId": "order_get",
            "parameters": {"order_id": "$response.body#/order_id"},
            "description": "The order just placed.",
        },
        "EditOrder": {
            "operationId": "order_edit",
            "parameters": {
                "order_id": "$response.body#/order_id",
                "header.If-Match": "$response.header.ETag",
            },
            "description": "Edit the order just placed, at the version just returned.",
        },
        "CancelOrder": {
            "operationId": "order_cancel",
            "parameters": {"order_id": "$response.body#/order_id"},
            "description": "Cancel the order just placed.",
        },
    },
    ("order_get", "200"): {
        "EditOrder": {
            "operationId": "order_edit",
            "parameters": {
                "order_id": "$response.body#/order_id",
                "header.If-Match": "$response.header.ETag",
            },
        },
        "CancelOrder": {
            "operationId": "order_cancel",
            "parameters": {
                "order_id": "$response.body#/order_id",
                "header.If-Match": "$response.header.ETag",
            },
        },
    },
    ("product_create", "201"): {
        "GetProduct": {
            "operationId": "product_get",
            "parameters": {"product_id": "$response.body#/product_id"},
        },
        "EditProduct": {
            "operationId": "product_edit",
            "parameters": {"product_id": "$response.body#/product_id"},
        },
    },
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _status_body(**fields: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {name: {"type": "string", "enum": [value]} for name, value in fields.items()},
        "required": list(fields),
        "additionalProperties": False,
    }


# Plain Django views (not DRF) that spectacular cannot see: written out here, and published
# only when the route exists.
_OPERATIONS_PATHS: dict[str, dict[str, Any]] = {
    "/healthz": {
        "get": {
            "operationId": "healthz",
            "summary": "Liveness: the process serves requests (never touches the database)",
            "tags": ["operations"],
            "security": [],
            "responses": {"200": _json(_status_body(status="ok"), "Alive.")},
        }
    },
    "/readyz": {
        "get": {
            "operationId": "readyz",
            "summary": "Readiness: the database answers",
            "tags": ["operations"],
            "security": [],
            "responses": {
                "200": _json(_status_body(status="ready", database="ok"), "Ready."),
                "503": {
                    **_json(
                        {"$ref": "#/components/schemas/Error"},
                        f"`{errors.INVENTORY_UNAVAILABLE.message}`",
                    ),
                    "headers": {
                        "Retry-After": {
                            "schema": {"type": "integer"},
                            "required": True,
                            "description": "Seconds to wait before asking again.",
                        }
                    },
                },
            },
        }
    },
    "/metrics": {
        "get": {
            "operationId": "metrics",
            "summary": "Prometheus metrics (text exposition format), summed over workers",
            "tags": ["operations"],
            "security": [],
            "responses": {
                "200": {
                    "description": "Metrics; the business counters are named `orders_*`.",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                }
            },
        }
    },
}


def _route_exists(path: str) -> bool:
    try:
        resolve(path)
    except Resolver404:
        return False
    return True


def postprocess_schema(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """SPECTACULAR_SETTINGS POSTPROCESSING_HOOKS: paths, closed objects, PATCH rules, links."""
    schemas: dict[str, Any] = result.get("components", {}).get("schemas", {})
    for component in schemas.values():
        # Bodies are exact both ways: unknown request fields are 400, responses add none.
        if component.get("type") == "object" and "properties" in component:
            component.setdefault("additionalProperties", False)
        if component.get("description", "").strip() == _STRICT_DOC:
            component["description"] = "Unknown fields are refused (400), not ignored."
    # PATCH /orders/{id} takes products or order_status, not both, not neither.
    if "OrderEditRequest" in schemas:
        schemas["OrderEditRequest"].update(minProperties=1, maxProperties=1)
    # PATCH /products/{id}: `restock` alone, or at least one of `name` and `product_count`.
    if "ProductEditRequest" in schemas:
        schemas["ProductEditRequest"]["oneOf"] = [
            {"required": ["restock"], "maxProperties": 1},
            {
                "anyOf": [{"required": ["name"]}, {"required": ["product_count"]}],
                "not": {"required": ["restock"]},
            },
        ]
    # `/orders/?` comes out as `/orders/`; the canonical form has no slash (both answer).
    result["paths"] = {
        (path.rstrip("/") or "/"): item for path, item in result.get("paths", {}).items()
    }
    for path_item in result["paths"].values():
        for operation in path_item.values():
            if "requestBody" in operation:
                operation["requestBody"]["required"] = True  # an empty body is a 400
            for status, response in operation.get("responses", {}).items():
                if not response.get("description"):
                    response["description"] = _SUCCESS_DESCRIPTIONS.get(status, status)
                links = _LINKS.get((operation.get("operationId", ""), status))
                if links:
                    response["links"] = links
    for path, item in _OPERATIONS_PATHS.items():
        if _route_exists(path):
            result["paths"].setdefault(path, item)
    return result
