"""Shared OpenAPI pieces for the apps' operations: the error body, shared headers, auth schemes."""

import json
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema_field,
)
from rest_framework import serializers

from orderservice.api import errors
from orderservice.api.errors import ErrorKind
from orderservice.api.pagination import DEFAULT_LIMIT, MAX_LIMIT
from orderservice.api.renderers import JSONRenderer

# Where the examples pretend to run; real bodies carry the server's own URL.
EXAMPLE_BASE = "https://orders.example.com"

# Operation extensions (`extend_schema(extensions={...})`) for what spectacular cannot place;
# api.autoschema.postprocess_schema moves them. LINKS: `{status: {name: OpenAPI link}}`, onto
# the responses. BODY_RULES: JSON Schema keywords a serializer cannot state (one of, at most one
# of), into the request body's component.
LINKS = "x-links"
BODY_RULES = "x-body-rules"


def as_sent(body: Any) -> Any:
    """`body` as the API renders it (times as `...Z` strings): the value of an example."""
    return json.loads(JSONRenderer().render(body))


def constant_field(value: str) -> serializers.CharField:
    """A string field documented as exactly `value` (a fixed message of the contract)."""

    @extend_schema_field({"type": "string", "enum": [value]})
    class Constant(serializers.CharField):
        pass

    return Constant(help_text=f"Always `{value}`.")


@extend_schema_field(
    {"type": "string", "pattern": r"^(0|[1-9][0-9]*)\.[0-9]{2}$", "example": "12.50"}
)
class AmountField(serializers.CharField):
    """An amount as answers show it: a decimal string with exactly two places (api.fields)."""


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


# Examples of 400 bodies that every app's operations answer.
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
BAD_PAGE = error_example(
    errors.INVALID_REQUEST,
    "Query parameter out of range",
    name="bad-query",
    details={"limit": [f"Must be an integer from 1 to {MAX_LIMIT}."]},
)

# --- headers and parameters -----------------------------------------------------------------
# No request header carries an example or a default: Swagger UI would fill it in on "Try it
# out", and a fixed Idempotency-Key or If-Match turns the second try into a 422 or a 412.

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
        "Optional optimistic concurrency: the `ETag` of the order as you last saw it, quotes "
        'included (`"3"`). A value that is not the current one answers 412 and changes nothing. '
        "`*` matches any version."
    ),
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

# --- authentication schemes -----------------------------------------------------------------


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = "orderservice.tokens.authentication.TokenAuthentication"
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
    target_class = "orderservice.tokens.authentication.BearerAuthentication"
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
