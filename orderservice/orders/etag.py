"""HTTP details of the order resource: its ETag and the If-Match header that refers to it."""

from rest_framework.request import Request


def etag_for(version: int) -> str:
    return f'"{version}"'


def if_match_versions(request: Request) -> frozenset[int] | None:
    """The order versions `If-Match` accepts; None when absent or `*`.

    A header that names no version of ours (garbage, another resource's tag) yields an empty set,
    which no order matches: the request then fails with 412, as RFC 9110 asks.
    """
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    versions = set()
    for tag in header.split(","):
        tag = tag.strip()
        if tag.startswith("W/"):
            continue  # If-Match compares strongly: a weak tag never matches
        tag = tag.strip('"')
        if tag.isdigit():
            versions.add(int(tag))
    return frozenset(versions)
