"""The `Idempotency-Key` header in the OpenAPI document: the request header, its 400, the answers'
`Idempotent-Replayed` and the in-flight 409's `Retry-After`, for each operation that takes a key."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from orderservice.api import errors, openapi
from orderservice.idempotency.models import KEY_MAX_LENGTH

BAD_KEY = openapi.error_example(
    errors.INVALID_REQUEST,
    "Idempotency-Key empty, too long or not printable ASCII",
    name="bad-idempotency-key",
    details={"Idempotency-Key": [f"Must be 1 to {KEY_MAX_LENGTH} printable ASCII characters."]},
)


def key_parameters(*, replayed: str, stored: list[int]) -> list[OpenApiParameter]:
    """The header and the answers' headers for an operation whose `stored` answers replay.

    `replayed` says in words what a repeated request gets back. No example: Swagger UI would send
    it on every "Try it out" (see api.openapi).
    """
    return [
        OpenApiParameter(
            "Idempotency-Key",
            {
                "type": "string",
                "minLength": 1,
                "maxLength": KEY_MAX_LENGTH,
                "pattern": f"^[ -~]{{1,{KEY_MAX_LENGTH}}}$",
            },
            OpenApiParameter.HEADER,
            description=(
                f"Optional, 1 to {KEY_MAX_LENGTH} printable ASCII characters: a new value for "
                f"each new request, e.g. a fresh UUID. The same user sending the same key with the "
                f"same body within 24 hours gets {replayed} replayed, with "
                "`Idempotent-Replayed: true`, and nothing is done twice. The same key with another "
                "body is 422; while the first request still runs, 409. Any other refusal is not "
                "stored: a retry runs afresh."
            ),
        ),
        OpenApiParameter(
            "Idempotent-Replayed",
            {"type": "string", "enum": ["true"]},
            OpenApiParameter.HEADER,
            description="Present on an answer replayed for a repeated Idempotency-Key.",
            response=stored,
        ),
        OpenApiParameter(
            "Retry-After",
            OpenApiTypes.INT,
            OpenApiParameter.HEADER,
            description="With `idempotency-key-in-flight`: seconds to wait before retrying.",
            response=[409],
        ),
    ]
