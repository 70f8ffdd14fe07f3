"""JSON for everything Django answers outside DRF: unknown routes, oversized bodies, crashes;
and the admin's own middlewares (sessions, CSRF, login, messages), run for the admin only."""

import logging
from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware

from orderservice.api import errors

logger = logging.getLogger("orderservice.errors")

# Paths that serve HTML on purpose; everything else is the API and answers JSON only.
_HTML_PREFIXES = ("/admin", "/docs", "/static")


class JsonErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        too_large = self._refuse_large_body(request)
        if too_large is not None:
            return too_large
        response = self.get_response(request)
        if response.status_code in (404, 405, 500) and not self._is_json(response):
            if not request.path.startswith(_HTML_PREFIXES):
                kind = {404: errors.NOT_FOUND, 405: errors.METHOD_NOT_ALLOWED}.get(
                    response.status_code, errors.INTERNAL_ERROR
                )
                replacement = errors.error_response(request, kind)
                if response.has_header("Allow"):
                    replacement["Allow"] = response["Allow"]
                return replacement
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if request.path.startswith(_HTML_PREFIXES):
            # The admin and the docs keep Django's own answers (a 403 for PermissionDenied).
            return None
        # Reached by anything no view handled: log the traceback here, send none to the client.
        logger.error("unhandled error on %s %s", request.method, request.path, exc_info=exception)
        return errors.exception_response(exception, request)

    @staticmethod
    def _is_json(response: HttpResponse) -> bool:
        return response.get("Content-Type", "").startswith("application/json")

    @staticmethod
    def _refuse_large_body(request: HttpRequest) -> HttpResponse | None:
        raw = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(raw)
        except ValueError:
            return errors.error_response(
                request, errors.INVALID_REQUEST, details={"Content-Length": ["Must be an integer."]}
            )
        if length > settings.MAX_REQUEST_BODY_BYTES:
            return errors.error_response(request, errors.PAYLOAD_TOO_LARGE)
        return None


# --- the admin's middlewares ----------------------------------------------------------------

# Every admin URL starts with this (urls.py: path("admin/", ...)); URLs resolve on path_info.
ADMIN_PATH_PREFIX = "/admin/"

_Middleware = TypeVar("_Middleware", bound=type)


def is_admin_path(request: HttpRequest) -> bool:
    return request.path_info.startswith(ADMIN_PATH_PREFIX)


def admin_only(middleware: _Middleware) -> _Middleware:
    """A subclass of `middleware` that does its work for the admin's paths only.

    For any other path the request goes straight to the next middleware, and the hooks Django
    calls around the view (process_view, process_exception, process_template_response) do
    nothing. The API authenticates by token and sets no cookie: it needs no session, no CSRF
    check (its views are csrf_exempt, and without a session no request carries ambient
    credentials), no session user and no messages, and each of those costs every request.

    A subclass, so that Django's checks still find the admin's requirements in MIDDLEWARE
    (admin.E408-E410 look for subclasses; CSRF is checked by orderservice.api.checks).
    """
    base = cast(Any, middleware)

    def __call__(self: Any, request: HttpRequest) -> Any:
        if is_admin_path(request):
            return base.__call__(self, request)
        return self.get_response(request)

    namespace: dict[str, Any] = {
        "__call__": __call__,
        "__module__": __name__,
        "__doc__": f"{middleware.__name__}, for the admin's paths only ({__name__}.admin_only).",
    }
    if hasattr(base, "process_view"):

        def process_view(self: Any, request: HttpRequest, *args: Any) -> Any:
            return base.process_view(self, request, *args) if is_admin_path(request) else None

        namespace["process_view"] = process_view
    if hasattr(base, "process_exception"):

        def process_exception(self: Any, request: HttpRequest, exception: Exception) -> Any:
            if is_admin_path(request):
                return base.process_exception(self, request, exception)
            return None

        namespace["process_exception"] = process_exception
    if hasattr(base, "process_template_response"):

        def process_template_response(self: Any, request: HttpRequest, response: Any) -> Any:
            if is_admin_path(request):
                return base.process_template_response(self, request, response)
            return response

        namespace["process_template_response"] = process_template_response
    name = f"Admin{middleware.__name__}"
    namespace["__qualname__"] = name
    return cast(_Middleware, type(name, (middleware,), namespace))


AdminSessionMiddleware = admin_only(SessionMiddleware)
AdminCsrfViewMiddleware = admin_only(CsrfViewMiddleware)
AdminAuthenticationMiddleware = admin_only(AuthenticationMiddleware)
AdminMessageMiddleware = admin_only(MessageMiddleware)
