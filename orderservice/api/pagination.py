"""Keyset pagination: `?limit=` (1-100, default 20) and an opaque `?cursor=` in `next`.

A cursor is the position of a page's last row, signed with SECRET_KEY (django.core.signing):
only a cursor this server made is read back, and each of its values must also match its
endpoint's pattern in full, so nothing a client makes up (a NUL byte, a lone surrogate, another
type) reaches a query.
"""

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from django.core import signing
from rest_framework import serializers
from rest_framework.request import Request

from orderservice.api.proxy import public_url

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# Our cursors are under 150 characters; anything much longer is not one (and is not decoded).
MAX_CURSOR_LENGTH = 512
# Signatures made for cursors are good for nothing else, and no other signature is a cursor.
_CURSOR_SALT = "orderservice.api.pagination.cursor"


def page_limit(request: Request) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    # ASCII digits only: str.isdigit() also accepts "²", which int() refuses, and a huge number
    # of digits makes int() raise as well.
    if not re.fullmatch(r"[0-9]{1,3}", raw) or not 1 <= int(raw) <= MAX_LIMIT:
        raise serializers.ValidationError({"limit": [f"Must be an integer from 1 to {MAX_LIMIT}."]})
    return int(raw)


def bad_cursor() -> serializers.ValidationError:
    """The 400 for any `cursor` that is not from one of our `next` links."""
    return serializers.ValidationError({"cursor": ["Not a cursor from a `next` link."]})


def cursor_for(position: list[str]) -> str:
    """The signed, URL-safe `cursor` for a position: compact JSON in base64, then the signature."""
    return signing.Signer(salt=_CURSOR_SALT).sign_object(position)


def page_cursor(request: Request, *patterns: str) -> list[str] | None:
    """The position after which the page starts, or None for the first page.

    A cursor `cursor_for` signed, holding one string per pattern, each matching it in full;
    anything else is a 400.
    """
    raw = request.query_params.get("cursor")
    if raw is None:
        return None
    if len(raw) > MAX_CURSOR_LENGTH:
        raise bad_cursor()
    try:
        position = signing.Signer(salt=_CURSOR_SALT).unsign_object(raw)
    except (signing.BadSignature, ValueError, UnicodeError) as exc:
        raise bad_cursor() from exc
    if not (
        isinstance(position, list)
        and len(position) == len(patterns)
        and all(
            isinstance(value, str) and re.fullmatch(pattern, value)
            for value, pattern in zip(position, patterns, strict=True)
        )
    ):
        raise bad_cursor()
    return position


# A time in a `next` link: a row's created_at, ISO 8601 with its UTC offset, as isoformat() writes.
CURSOR_TIME_PATTERN = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{6})?[+-][0-9]{2}:[0-9]{2}"
)


def page_time_cursor(request: Request, id_pattern: str) -> tuple[datetime, str] | None:
    """The (created_at, id) a newest-first page starts after, or None for the first page."""
    position = page_cursor(request, CURSOR_TIME_PATTERN, id_pattern)
    if position is None:
        return None
    created_at, row_id = position
    try:
        # In UTC, as the database compares it: 9999-12-31T23:59-23:59 overflows here, not there.
        return datetime.fromisoformat(created_at).astimezone(UTC), row_id
    except (ValueError, OverflowError) as exc:
        raise bad_cursor() from exc


def page_body(
    request: Request, results: Sequence[Any], rows: int, limit: int, position: list[str]
) -> dict[str, Any]:
    """`{"results", "next"}`; `rows` is how many were fetched (limit + 1 means there is more)."""
    next_url = None
    if rows > limit:
        params = request.query_params.copy()
        params["cursor"] = cursor_for(position)
        next_url = public_url(request, f"{request.path}?{params.urlencode()}")
    return {"results": results, "next": next_url}
