"""Liveness and readiness (GET /healthz, GET /readyz), and answering 503 at once while the
database's circuit breaker is open.

Both endpoints are plain Django views: no authentication, no throttling, JSON only.
"""

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET
from rest_framework.views import APIView

from orderservice.api import errors
from orderservice.common.db import database_ping, database_refusal
from orderservice.common.db.availability import discard_connection_older_than_a_failure
from orderservice.common.exceptions import DatabaseUnavailable


@csrf_exempt  # no session, no form: CSRF would answer other methods 403 in HTML, not 405
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 while the process serves requests; never touches the database."""
    return JsonResponse({"status": "ok"})


@csrf_exempt
@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers `SELECT 1` in time, else 503 with Retry-After."""
    try:
        database_ping()
    except DatabaseUnavailable as exc:
        return errors.exception_response(exc, request)
    return JsonResponse({"status": "ready", "database": "ok"})


class DatabaseCircuitMiddleware:
    """While the breaker is open, API views answer 503 before they touch the database.

    Writes are refused by the transaction wrapper anyway; this spares reads (and the token lookup)
    the wait on a database known to be down. Only DRF views that authenticate (a token lookup)
    are gated: /healthz, /readyz, the docs, the metrics and unknown paths answer as usual.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Before the request's first statement (the token lookup, a read): a connection that
        # lived through a database failure is not used after it (common/db/availability.py).
        discard_connection_older_than_a_failure()
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponse],
        view_args: Any,
        view_kwargs: Any,
    ) -> HttpResponse | None:
        view_class = getattr(view_func, "cls", None)
        if not (isinstance(view_class, type) and issubclass(view_class, APIView)):
            return None
        if not view_class.authentication_classes:
            return None
        refusal = database_refusal()
        if refusal is None:
            return None
        return errors.exception_response(refusal, request)
