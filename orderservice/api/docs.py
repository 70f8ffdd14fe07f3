"""The served docs: /schema (OpenAPI 3), /docs (Swagger UI), /docs/redoc, /docs/errors.

Everything here is public and works offline: the UI's scripts and styles come from
drf-spectacular-sidecar and are served by this app under /docs/assets/, whatever DEBUG and the
static files set-up are.
"""

import html
import json
import re
from pathlib import Path
from typing import Any

import drf_spectacular_sidecar
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import re_path
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe
from django.views.static import serve
from drf_spectacular.renderers import (
    OpenApiJsonRenderer,
    OpenApiJsonRenderer2,
    OpenApiYamlRenderer,
    OpenApiYamlRenderer2,
)
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from orderservice.api import errors, openapi

ASSETS_DIR = Path(drf_spectacular_sidecar.__file__).parent / "static" / "drf_spectacular_sidecar"
ASSETS_MAX_AGE = 24 * 60 * 60


class SchemaApi(SpectacularAPIView):
    """The OpenAPI document, JSON unless YAML is asked for (`?format=yaml` or `Accept`)."""

    renderer_classes = [
        OpenApiJsonRenderer,
        OpenApiJsonRenderer2,  # Accept: application/json
        OpenApiYamlRenderer,
        OpenApiYamlRenderer2,  # Accept: application/yaml
    ]


# What to do about each error, beside the catalogue's cause; a kind missing here still gets its
# section (cause, status, message), only without this paragraph.
FIXES: dict[str, str] = {
    "invalid-request": (
        "Read `details`: each key names a field (`products[0].item_count`, a query parameter, "
        "`body` for the body as a whole, `unknown_products` for ids that do not exist) and each "
        'value says what is wrong. Counts are JSON integers (not `1.0`, `"3"` or `true`); '
        "unknown fields are refused rather than ignored."
    ),
    "unauthenticated": (
        "Get a key with `python manage.py issue_token USERNAME` and send it on every request. "
        "A revoked or expired key needs a new one."
    ),
    "permission-denied": "Use a staff user's key, or leave `order_status` out of the request.",
    "order-not-found": (
        "Check the `order_id` (the one `POST /orders` returned); list yours with `GET /orders`. "
        "Another user's order is reported as not found on purpose."
    ),
    "product-out-of-stock": (
        "Nothing was changed. Lower each listed line's count to at most `available`, drop the "
        "line, or retry after a restock. With `fulfillment: partial` the fillable lines of a new "
        "order are placed and only the rest are reported."
    ),
    "product-not-found": "Check the `product_id`; `GET /products` lists the products.",
    "not-found": "Check the path against /docs; paths work with and without a trailing slash.",
    "method-not-allowed": "Use one of the methods in the `Allow` header.",
    "not-acceptable": "Send `Accept: application/json` (or `*/*`), or no `Accept` header at all.",
    "conflict": (
        "GET the resource to see its current state; a cancelled, shipped or delivered order "
        "cannot be cancelled or edited again, and statuses move only along "
        "`placed → processing → shipped → delivered` (or to `cancelled` before shipping)."
    ),
    "idempotency-key-in-flight": (
        "Wait `Retry-After` seconds and send the same request with the same key again: you get "
        "the first request's answer, and no second order."
    ),
    "idempotency-key-reused": (
        "Send a new `Idempotency-Key` for a new request; reuse a key only to retry the very same "
        "request (same body)."
    ),
    "precondition-failed": (
        "Someone changed the order since you read it. GET it again, check the change still "
        "makes sense, and retry with the new `ETag` in `If-Match`."
    ),
    "request-too-large": "Split the request; an order holds at most 100 lines anyway.",
    "unsupported-media-type": "Send `Content-Type: application/json` and a JSON body.",
    "throttled": "Wait `Retry-After` seconds, then retry; spread requests out over time.",
    "internal-error": (
        "Retry once; if it persists, report the time and the `X-Request-ID` of the response."
    ),
    "inventory-unavailable": (
        "Retry after `Retry-After` seconds (with an `Idempotency-Key` on `POST /orders`, a retry "
        "never places a second order). The operators have been alerted."
    ),
}

# A representative body per kind where the plain one says too little.
_EXAMPLE_BODIES: dict[str, dict[str, Any]] = {
    "invalid-request": openapi.INVALID_BODY.value,
    "product-out-of-stock": openapi.error_body(
        errors.OUT_OF_STOCK,
        details={"out_of_stock": [{"product_id": "SKU-5", "requested": 5, "available": 2}]},
    ),
    "conflict": openapi.error_body(errors.CONFLICT, message="Order is already cancelled."),
}

_CODE_SPAN = re.compile(r"`([^`]+)`")


def _inline_markup(text: str) -> SafeString:
    """Escape, then turn `code` spans into <code>: the catalogue's texts use backticks."""
    return mark_safe(_CODE_SPAN.sub(r"<code>\1</code>", html.escape(text)))  # noqa: S308


@csrf_exempt  # a public page: other methods get 405, not CSRF's 403
@require_safe
def error_docs(request: HttpRequest) -> HttpResponse:
    """Every error of the catalogue and of the proxy, one section each, anchored by its slug."""
    sections = [
        {
            "slug": kind.slug,
            "status": kind.status,
            "message": kind.message,
            "cause": _inline_markup(kind.cause),
            "fix": _inline_markup(FIXES[kind.slug]) if kind.slug in FIXES else "",
            "example": json.dumps(
                _EXAMPLE_BODIES.get(kind.slug) or openapi.error_body(kind), indent=2
            ),
        }
        for kind in (*errors.CATALOGUE, *errors.PROXY_CATALOGUE)
    ]
    return render(request, "api/error_docs.html", {"sections": sections})


@csrf_exempt
@require_safe
def docs_asset(request: HttpRequest, path: str) -> HttpResponseBase:
    """A file of the Swagger UI / Redoc bundles (django.views.static.serve refuses `..`)."""
    response = serve(request, path, document_root=str(ASSETS_DIR))
    response["Cache-Control"] = f"public, max-age={ASSETS_MAX_AGE}"
    return response


urlpatterns = [
    re_path(r"^schema/?$", SchemaApi.as_view(), name="schema"),
    re_path(r"^docs/?$", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    re_path(
        r"^docs/redoc/?$",
        SpectacularRedocView.as_view(url_name="schema", template_name="api/redoc.html"),
        name="docs-redoc",
    ),
    re_path(r"^docs/errors/?$", error_docs, name="docs-errors"),
    re_path(r"^docs/assets/(?P<path>.+)$", docs_asset, name="docs-assets"),
]
