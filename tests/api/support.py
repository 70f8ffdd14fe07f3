"""What the API tests share: the contract's strings, and assertions on error responses."""

import re
from typing import Any

from django.http import HttpResponse

INVALID = "Invalid request. Please review your request and ensure everything is correct."
UNAUTHENTICATED = "Authentication credentials were not provided or are invalid."
FORBIDDEN = "You do not have permission to perform this action."
ORDER_NOT_FOUND = "Order not found. Ensure supplied order_id is correct."
OUT_OF_STOCK = "Product out of stock."
PRODUCT_NOT_FOUND = "Product not found."
NOT_FOUND = "Not found."
METHOD_NOT_ALLOWED = "Method not allowed."
PRECONDITION_FAILED = "Order was modified by another request. Fetch it again and retry."
TOO_LARGE = "Request body too large."
UNSUPPORTED = "Unsupported media type. Send application/json."
INTERNAL = "Internal server error."

# The `documentation` link: the server's own docs page, one anchor per error.
DOCS = "http://testserver/docs/errors"

MISSING_ORDER_ID = "ord_" + "0" * 24
ORDER_ID = re.compile(r"ord_[0-9a-f]{24}")
# RFC 9110 entity-tag: an opaque quoted string, optionally weak.
ETAG = re.compile(r'(W/)?"[\x21\x23-\x7e]*"')


def json_body(response: HttpResponse) -> Any:
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    return response.json()  # type: ignore[attr-defined]


def assert_error(
    response: HttpResponse,
    status: int,
    error: str,
    anchor: str,
    details: dict[str, Any] | None = None,
) -> None:
    """The exact error body of SPEC §1: `error`, `documentation`, and `details` only when given."""
    assert response.status_code == status, (response.status_code, response.content)
    expected: dict[str, Any] = {"error": error, "documentation": f"{DOCS}#{anchor}"}
    if details is not None:
        expected["details"] = details
    assert json_body(response) == expected


def etag(response: HttpResponse) -> str:
    value = response.get("ETag")
    assert value is not None
    assert ETAG.fullmatch(value), value
    return value


def walk_pages(client: Any, url: str, field: str) -> tuple[list[Any], int]:
    """Each result's `field`, following `next` links from `url`; and the number of pages."""
    values: list[Any] = []
    pages = 0
    next_url: str | None = url
    while next_url is not None:
        response = client.get(next_url)
        assert response.status_code == 200, response.content
        page = json_body(response)
        assert set(page) == {"results", "next"}
        values.extend(item[field] for item in page["results"])
        next_url = page["next"]
        pages += 1
        assert pages < 100
    return values, pages
