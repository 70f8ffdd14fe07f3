"""JSON for everything Django answers outside DRF, the Host check and Content-Length of Django's
CommonMiddleware, and the admin's middleware on its paths only."""

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils.deprecation import MiddlewareMixin

from orderservice.api import errors
from orderservice.api.chunked import length_required

logger = logging.getLogger("orderservice.errors")

# Paths that serve HTML on purpose; everything else is the API and answers JSON only.
_HTML_PREFIXES = ("/admin", "/docs", "/static")


class JsonErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refused = self._chunked_body(request) or self._refuse_large_body(request)
        if refused is not None:
            return refused
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
    def _chunked_body(request: HttpRequest) -> HttpResponse | None:
        """411 for a chunked body the server did not de-chunk (api/chunked.py); a de-chunked one
        arrives here with its Content-Length (`with_dechunked_bodies`, orderservice/wsgi.py)."""
        if length_required(request.META):
            return errors.error_response(request, errors.LENGTH_REQUIRED)
        return None

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


# --- Django's CommonMiddleware, as this service uses it ----------------------------------------


class CommonMiddleware:
    """Refuses a Host outside ALLOWED_HOSTS (DisallowedHost: a 400) and sets Content-Length: all
    that Django's CommonMiddleware does with this service's settings, with the Host verdicts
    remembered.

    Django's asks `request.get_host()` on every request, which parses the Host and matches it
    against each ALLOWED_HOSTS pattern: 36k instructions, 2.3% of a GET of one product
    (`make bench-layers` on PostgreSQL), for the same one or two Host values request after
    request. This one asks `request.get_host()` too (the check is Django's), once per Host
    value: a Host it admitted is admitted again without asking, until a setting changes. One it
    refused is asked again each time, and raises DisallowedHost as Django's does. A request
    without a Host header (HTTP/1.0) is asked every time: its host is built from the server's
    name, port and scheme. Its other work is off here (APPEND_SLASH, PREPEND_WWW,
    DISALLOWED_USER_AGENTS: the server refuses to start if one is set: use Django's then).
    tests/api/test_common_middleware.py compares the two, answer for answer.
    """

    _MAX_HOSTS = 64  # Host values remembered; a bound for wildcard ALLOWED_HOSTS (".example.com")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        if settings.APPEND_SLASH or settings.PREPEND_WWW or settings.DISALLOWED_USER_AGENTS:
            raise ImproperlyConfigured(
                "APPEND_SLASH, PREPEND_WWW and DISALLOWED_USER_AGENTS need Django's "
                "django.middleware.common.CommonMiddleware in MIDDLEWARE."
            )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        meta = request.META
        host = meta.get("HTTP_HOST")
        # X-Forwarded-Host too: it is the host Django reads when USE_X_FORWARDED_HOST is on.
        key = (host, meta.get("HTTP_X_FORWARDED_HOST"))
        if host is None or key not in _admitted_hosts:
            request.get_host()  # DisallowedHost for a Host outside ALLOWED_HOSTS
            if host is not None:
                if len(_admitted_hosts) >= self._MAX_HOSTS:
                    _admitted_hosts.clear()
                _admitted_hosts.add(key)
        response = self.get_response(request)
        if not response.streaming and not response.has_header("Content-Length"):
            response.headers["Content-Length"] = str(len(response.content))
        return response


# (Host, X-Forwarded-Host) pairs request.get_host() admitted under the current settings.
_admitted_hosts: set[tuple[str | None, str | None]] = set()


@receiver(setting_changed, dispatch_uid="orderservice.api.middleware.forget_admitted_hosts")
def _forget_admitted_hosts(**kwargs: object) -> None:
    """ALLOWED_HOSTS, DEBUG or USE_X_FORWARDED_HOST may have changed (tests): ask again."""
    _admitted_hosts.clear()


# --- the session, auth and messages middleware, on the HTML paths only ----------------------------


class HtmlPathsOnly(MiddlewareMixin):
    """Runs the Django middleware it is mixed into on the HTML paths only (admin, docs, static).

    The API authenticates with tokens on every request, never with a session or a cookie (DRF
    sets `request.user` itself), and sends no messages: on its paths sessions, Django's
    authentication and messages have nothing to do, and cost 4% of the instructions of a GET of
    one product, 7% of a placed order's (`make bench-layers` on PostgreSQL). Elsewhere they run
    unchanged. Without them a page that needs a login fails closed (no `request.user`, no
    session): it never gets in.
    """

    sync_capable = True
    async_capable = False

    def __call__(self, request: HttpRequest) -> Any:
        if request.path_info.startswith(_HTML_PREFIXES):
            return super().__call__(request)
        return self.get_response(request)


class SessionMiddleware(HtmlPathsOnly, sessions.SessionMiddleware):
    pass


class AuthenticationMiddleware(HtmlPathsOnly, auth.AuthenticationMiddleware):
    pass


class MessageMiddleware(HtmlPathsOnly, messages.MessageMiddleware):
    pass
