"""The error catalogue of SPEC §1 and the one place that renders every error as JSON."""

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.settings import api_settings

from orderservice.api.proxy import public_url
from orderservice.common import metrics
from orderservice.common.db import database_failed
from orderservice.common.exceptions import (
    Conflict,
    DatabaseUnavailable,
    DomainError,
    InsufficientStock,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    Unprocessable,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ErrorKind:
    status: int
    slug: str  # the anchor of its section in the error docs
    message: str
    cause: str  # for the docs page: why it happens and what to do


INVALID_REQUEST = ErrorKind(
    400,
    "invalid-request",
    "Invalid request. Please review your request and ensure everything is correct.",
    "The body, a path segment or a query parameter failed validation. `details` names each "
    "field and the problem; fix those and send again.",
)
UNAUTHENTICATED = ErrorKind(
    401,
    "unauthenticated",
    "Authentication credentials were not provided or are invalid.",
    "Send `Authorization: Token <key>` (or `Bearer <key>`) with a key from `issue_token`.",
)
PERMISSION_DENIED = ErrorKind(
    403,
    "permission-denied",
    "You do not have permission to perform this action.",
    "Only staff users may write products or set `order_status`.",
)
ORDER_NOT_FOUND = ErrorKind(
    404,
    "order-not-found",
    "Order not found. Ensure supplied order_id is correct.",
    "No order with this id exists among the orders you can see.",
)
OUT_OF_STOCK = ErrorKind(
    404,
    "product-out-of-stock",
    "Product out of stock.",
    "The stock cannot fill the request. `details.out_of_stock` lists each short line with what "
    "was requested and what is available. No order or stock changes; the units asked for are "
    "counted in each product's `unfilled_units`.",
)
PRODUCT_NOT_FOUND = ErrorKind(
    404, "product-not-found", "Product not found.", "No product with this product_id exists."
)
NOT_FOUND = ErrorKind(404, "not-found", "Not found.", "No endpoint answers at this path.")
METHOD_NOT_ALLOWED = ErrorKind(
    405,
    "method-not-allowed",
    "Method not allowed.",
    "This endpoint does not accept the method; the `Allow` header lists those it does.",
)
NOT_ACCEPTABLE = ErrorKind(
    406,
    "not-acceptable",
    "Not acceptable. This API answers application/json.",
    "The `Accept` header names no media type the API can answer with.",
)
CONFLICT = ErrorKind(
    409,
    "conflict",
    "The request conflicts with the current state of the resource.",
    "The order's status forbids the change (cancelling a cancelled or shipped order, editing a "
    "shipped one, a transition outside the status pipeline), the product already exists, or a "
    "stock adjustment was refused: its `expected_count` is not the stock, or its delta would take "
    "the stock below 0 (`details.product_count` is the stock now). The `error` sentence says "
    "which.",
)
IDEMPOTENCY_KEY_IN_FLIGHT = ErrorKind(
    409,
    "idempotency-key-in-flight",
    "A request with this Idempotency-Key is still being processed. Retry later.",
    "Another request with the same key has not finished yet. Retry after `Retry-After` seconds: "
    "you will get its answer replayed, and never a second order.",
)
LENGTH_REQUIRED = ErrorKind(
    411,
    "length-required",
    "Length required. Send the body with Content-Length.",
    "The body came with `Transfer-Encoding: chunked` and no `Content-Length`, and the server "
    "in front of the app did not de-chunk it (a client talking straight to a uWSGI app server; "
    "nginx in front de-chunks). Nothing was read or stored: send the body with `Content-Length`.",
)
PRECONDITION_FAILED = ErrorKind(
    412,
    "precondition-failed",
    "Order was modified by another request. Fetch it again and retry.",
    "`If-Match` did not name the order's current `ETag`. GET the order, then retry with its ETag.",
)
PAYLOAD_TOO_LARGE = ErrorKind(
    413, "request-too-large", "Request body too large.", "Bodies are limited to 64 KiB."
)
UNSUPPORTED_MEDIA_TYPE = ErrorKind(
    415,
    "unsupported-media-type",
    "Unsupported media type. Send application/json.",
    "Send the body as JSON with `Content-Type: application/json`.",
)
IDEMPOTENCY_KEY_REUSED = ErrorKind(
    422,
    "idempotency-key-reused",
    "Idempotency key reused with a different request.",
    "An `Idempotency-Key` names one request: within 24 hours it can only be sent again with the "
    "same body. Use a new key for a new request.",
)
THROTTLED = ErrorKind(
    429,
    "throttled",
    "Too many requests. Retry later.",
    "You sent more requests than the rate limit allows; wait `Retry-After` seconds.",
)
INTERNAL_ERROR = ErrorKind(
    500,
    "internal-error",
    "Internal server error.",
    "A bug on our side; it has been logged. Retrying may not help.",
)
INVENTORY_UNAVAILABLE = ErrorKind(
    503,
    "inventory-unavailable",
    "Inventory service unavailable. Please retry later.",
    "The database did not answer within the retry budget. Nothing was stored; retry after "
    "`Retry-After` seconds.",
)

CATALOGUE: tuple[ErrorKind, ...] = (
    INVALID_REQUEST, UNAUTHENTICATED, PERMISSION_DENIED, ORDER_NOT_FOUND, OUT_OF_STOCK,
    PRODUCT_NOT_FOUND, NOT_FOUND, METHOD_NOT_ALLOWED, NOT_ACCEPTABLE, CONFLICT,
    IDEMPOTENCY_KEY_IN_FLIGHT, LENGTH_REQUIRED, PRECONDITION_FAILED, PAYLOAD_TOO_LARGE,
    UNSUPPORTED_MEDIA_TYPE, IDEMPOTENCY_KEY_REUSED, THROTTLED, INTERNAL_ERROR,
    INVENTORY_UNAVAILABLE,
)  # fmt: skip

# Answered by the buffering proxy of the production stack (deploy/), never by the app itself; here
# so that /docs/errors explains them too (a test holds deploy/'s pages to these strings).
REQUEST_TIMEOUT = ErrorKind(
    408,
    "request-timeout",
    "Request timeout. Send the whole request without pausing.",
    "The proxy waited too long for the request's headers or body. Send it again in one go.",
)
URI_TOO_LONG = ErrorKind(
    414,
    "uri-too-long",
    "Request URI too long.",
    "The path and query string are over the proxy's limit (8 KiB).",
)
HEADERS_TOO_LARGE = ErrorKind(
    431,
    "headers-too-large",
    "Request header fields too large.",
    "A header line, or all the headers together, are over the proxy's limit (8 KiB).",
)
NOT_IMPLEMENTED = ErrorKind(
    501,
    "not-implemented",
    "Not implemented. Send the body with Content-Length.",
    "The proxy does not accept this transfer encoding; send the body with `Content-Length`.",
)
BAD_GATEWAY = ErrorKind(
    502,
    "bad-gateway",
    "Bad gateway: no app server answered. Please retry later.",
    "No app server behind the proxy accepted the request. A POST may or may not have been "
    "handled: retry it with the same `Idempotency-Key` after `Retry-After` seconds.",
)
GATEWAY_TIMEOUT = ErrorKind(
    504,
    "gateway-timeout",
    "Gateway timeout: the app server did not answer in time. Please retry later.",
    "The app server took longer than the proxy waits. A POST may have been handled: retry it "
    "with the same `Idempotency-Key` after `Retry-After` seconds.",
)
PROXY_CATALOGUE: tuple[ErrorKind, ...] = (
    REQUEST_TIMEOUT, URI_TOO_LONG, HEADERS_TOO_LARGE, NOT_IMPLEMENTED, BAD_GATEWAY, GATEWAY_TIMEOUT,
)  # fmt: skip


def documentation_url(request: HttpRequest | None, kind: ErrorKind) -> str:
    base = settings.ERROR_DOCS_BASE_URL
    if not base and request is not None:
        try:
            base = public_url(request, "/docs/errors")  # PUBLIC_BASE_URL, else the request's
        except DisallowedHost:
            base = ""
    return f"{base or '/docs/errors'}#{kind.slug}"


def error_response(
    request: HttpRequest | None,
    kind: ErrorKind,
    *,
    details: Mapping[str, Any] | None = None,
    message: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JsonResponse:
    body: dict[str, Any] = {
        "error": message or kind.message,
        "documentation": documentation_url(request, kind),
    }
    if details:
        body["details"] = details
    return JsonResponse(body, status=kind.status, headers=headers)


def validation_details(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error structure as flat `{"products[1].item_count": ["..."]}`."""
    flat: dict[str, list[str]] = {}
    if isinstance(detail, Mapping):
        for key, value in detail.items():
            if key in ("non_field_errors", api_settings.NON_FIELD_ERRORS_KEY):
                path = prefix or "body"
            elif isinstance(key, int):
                path = f"{prefix}[{key}]"
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            flat.update(validation_details(value, path))
    elif isinstance(detail, list) and all(isinstance(item, str) for item in detail):
        flat.setdefault(prefix or "body", []).extend(str(item) for item in detail)
    elif isinstance(detail, list):
        for index, item in enumerate(detail):
            flat.update(validation_details(item, f"{prefix}[{index}]"))
    else:
        flat.setdefault(prefix or "body", []).append(str(detail))
    return flat


# Each kind of domain failure and its catalogue entries: an exception's `code` picks one of them,
# the first when it names none. The edge knows these kinds, never an app's exception classes.
KIND_ENTRIES: dict[type[DomainError], tuple[ErrorKind, ...]] = {
    NotFound: (NOT_FOUND, ORDER_NOT_FOUND, PRODUCT_NOT_FOUND),
    InvalidInput: (INVALID_REQUEST,),
    InsufficientStock: (OUT_OF_STOCK,),
    Conflict: (CONFLICT, IDEMPOTENCY_KEY_IN_FLIGHT),
    PreconditionFailed: (PRECONDITION_FAILED,),
    Unprocessable: (IDEMPOTENCY_KEY_REUSED,),
    DatabaseUnavailable: (INVENTORY_UNAVAILABLE,),
}


def domain_entry(exc: DomainError) -> ErrorKind | None:
    """The catalogue entry that answers `exc`: its kind's entry named by its code.

    None for a DomainError of no kind above: a bug, answered as a 500.
    """
    kind = next((cls for cls in type(exc).__mro__ if cls in KIND_ENTRIES), None)
    if kind is None:
        return None
    entries = KIND_ENTRIES[kind]
    return next((entry for entry in entries if entry.slug == exc.code), entries[0])


def _domain_response(exc: DomainError, request: HttpRequest | None) -> JsonResponse | None:
    entry = domain_entry(exc)
    if entry is None:
        return None
    if isinstance(exc, DatabaseUnavailable):
        metrics.ORDERS_UNAVAILABLE.inc()
    return error_response(
        request,
        entry,
        details=exc.details(),
        # A generic conflict's `error` is the exception's sentence saying why (see CONFLICT).
        message=str(exc) if entry is CONFLICT else None,
        headers={"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None,
    )


def _response_for(exc: Exception, request: HttpRequest | None) -> JsonResponse | None:
    if isinstance(exc, drf.ValidationError):
        return error_response(request, INVALID_REQUEST, details=validation_details(exc.detail))
    if isinstance(exc, drf.ParseError):
        return error_response(request, INVALID_REQUEST, details={"body": [str(exc.detail)]})
    if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
        auth_header = getattr(exc, "auth_header", None)
        return error_response(
            request,
            UNAUTHENTICATED,
            headers={"WWW-Authenticate": auth_header} if auth_header else None,
        )
    if isinstance(exc, drf.PermissionDenied):
        return error_response(request, PERMISSION_DENIED)
    if isinstance(exc, drf.MethodNotAllowed):
        return error_response(request, METHOD_NOT_ALLOWED)
    if isinstance(exc, drf.UnsupportedMediaType):
        return error_response(request, UNSUPPORTED_MEDIA_TYPE)
    if isinstance(exc, drf.NotAcceptable):
        return error_response(request, NOT_ACCEPTABLE)
    if isinstance(exc, drf.Throttled):
        wait = getattr(exc, "wait", None)
        headers = {"Retry-After": str(max(1, int(wait + 0.999)))} if wait is not None else None
        return error_response(request, THROTTLED, headers=headers)
    if isinstance(exc, drf.NotFound | Http404):
        return error_response(request, NOT_FOUND)
    if isinstance(exc, OperationalError | InterfaceError):
        # A read outside the retrying transaction (a selector, the token lookup) met a database
        # that does not answer: 503 with Retry-After, like a write, never a 500.
        exc = database_failed(exc)
    if isinstance(exc, DomainError):
        return _domain_response(exc, request)
    if isinstance(exc, drf.APIException):
        # Any other DRF exception keeps its status; the body still follows the contract.
        kind = next((k for k in CATALOGUE if k.status == exc.status_code), INVALID_REQUEST)
        return error_response(request, kind)
    return None


def exception_handler(exc: Exception, context: Mapping[str, Any]) -> JsonResponse | None:
    """DRF EXCEPTION_HANDLER: known exceptions become contract errors, others a 500 upstream."""
    return _response_for(exc, context.get("request"))


def exception_response(exc: Exception, request: HttpRequest | None) -> JsonResponse:
    """For code outside DRF views (middleware): a known exception's answer, or a 500."""
    response = _response_for(exc, request)
    if response is not None:
        return response
    return error_response(request, INTERNAL_ERROR)
