"""Keyset pagination: `?limit=` (1-100, default 20) and an opaque `?cursor=` in `next`."""

import base64
import binascii
import json
import re
from collections.abc import Sequence
from typing import Any

from rest_framework import serializers
from rest_framework.request import Request

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# Our cursors are under 120 characters; anything much longer is not one (and is not decoded).
MAX_CURSOR_LENGTH = 512


def page_limit(request: Request) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    # ASCII digits only: str.isdigit() also accepts "²", which int() refuses, and a huge number
    # of digits makes int() raise as well.
    if not re.fullmatch(r"[0-9]{1,3}", raw) or not 1 <= int(raw) <= MAX_LIMIT:
        raise serializers.ValidationError({"limit": [f"Must be an integer from 1 to {MAX_LIMIT}."]})
    return int(raw)


def page_cursor(request: Request) -> list[Any] | None:
    """The decoded position after which the page starts, or None for the first page."""
    raw = request.query_params.get("cursor")
    if raw is None:
        return None
    if len(raw) > MAX_CURSOR_LENGTH:
        raise serializers.ValidationError({"cursor": ["Not a cursor from a `next` link."]})
    try:
        position = json.loads(base64.urlsafe_b64decode(raw.encode() + b"=" * (-len(raw) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise serializers.ValidationError({"cursor": ["Not a cursor from a `next` link."]}) from exc
    if not isinstance(position, list) or not all(isinstance(p, str) for p in position):
        raise serializers.ValidationError({"cursor": ["Not a cursor from a `next` link."]})
    return position


def page_body(
    request: Request, results: Sequence[Any], rows: int, limit: int, position: list[str]
) -> dict[str, Any]:
    """`{"results", "next"}`; `rows` is how many were fetched (limit + 1 means there is more)."""
    next_url = None
    if rows > limit:
        cursor = base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")
        params = request.query_params.copy()
        params["cursor"] = cursor
        next_url = request.build_absolute_uri(f"{request.path}?{params.urlencode()}")
    return {"results": results, "next": next_url}
