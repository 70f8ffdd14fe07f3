"""The `Idempotency-Key` header (POST /orders, SPEC §2; POST /products/{id}/adjustments, §11):
check it, run the request once, replay.

What is stored and replayed: a success (200, 201), and the refusals the caller names (for POST
/orders, the 404 for stock that cannot fill the order). Everything else (400, 401, 403, 409,
413, 415, 422, 429, 5xx) is raised as usual and stores nothing, so a corrected or later retry
with the same key runs afresh.
"""

import hashlib
import json
import re
from collections.abc import Callable
from typing import cast

from django.http import HttpResponse
from rest_framework import serializers
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from orderservice.api import errors
from orderservice.api.authentication import authenticated_user
from orderservice.idempotency.models import KEY_MAX_LENGTH
from orderservice.idempotency.services import StoredResponse, idempotency_key_run

KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_KEY = re.compile(rf"[\x20-\x7e]{{1,{KEY_MAX_LENGTH}}}")  # printable ASCII
_REPLAYED_HEADERS = ("Location", "ETag")


def idempotency_key(request: Request) -> str | None:
    """The request's Idempotency-Key, None when absent; a malformed one is a 400."""
    key = request.META.get("HTTP_IDEMPOTENCY_KEY")
    if key is None:
        return None
    if not _KEY.fullmatch(key):
        raise serializers.ValidationError(
            {KEY_HEADER: [f"Must be 1 to {KEY_MAX_LENGTH} printable ASCII characters."]}
        )
    return key


def request_fingerprint(request: Request) -> str:
    """SHA-256 of the method, path and canonical JSON body: equal for equal requests only."""
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    path = request.path_info.rstrip("/")
    return hashlib.sha256(f"{request.method} {path}\n{body}".encode()).hexdigest()


def idempotent(
    request: Request,
    key: str | None,
    respond: Callable[[], Response],
    *,
    stored_refusals: tuple[type[Exception], ...],
) -> Response | HttpResponse:
    """`respond()` as is without a key; with one, run once per key and replay the stored answer.

    Call after the body has been validated (a 400 must not reach the key). `respond` runs in the
    transaction that stores the key; the error answers of `stored_refusals` are stored too.
    """
    if key is None:
        return respond()

    def perform() -> StoredResponse:
        try:
            response: Response | HttpResponse = respond()
        except stored_refusals as exc:
            response = errors.exception_response(exc, request)
        return _stored(response)

    keyed = idempotency_key_run(
        user=authenticated_user(request),
        key=key,
        fingerprint=request_fingerprint(request),
        perform=perform,
    )
    stored = keyed.response
    answer = HttpResponse(stored.body, status=stored.status, content_type="application/json")
    for name, value in stored.headers.items():
        answer[name] = value
    if keyed.replayed:
        answer[REPLAYED_HEADER] = "true"
    return answer


def _stored(response: Response | HttpResponse) -> StoredResponse:
    if isinstance(response, Response):
        # The renderer every other answer uses, so a keyed answer reads like an unkeyed one.
        renderer = cast(type[BaseRenderer], api_settings.DEFAULT_RENDERER_CLASSES[0])
        body = renderer().render(response.data)
    else:
        body = response.content
    headers = {name: response[name] for name in _REPLAYED_HEADERS if response.has_header(name)}
    return StoredResponse(status=response.status_code, body=body.decode(), headers=headers)
