"""Content negotiation: DRF's, with the answers to the usual requests known in advance.

Nearly every API request sends no Accept header, `*/*` or exactly the renderer's media type, and
a JSON body with Content-Type exactly `application/json`. For those DRF would parse the headers
into media-type objects and compare them, to reach the same answer every time: the first
renderer (parser). Anything else — another Accept header, a `?format=` override, a format
suffix, parameters — goes through DRF's negotiation unchanged, 406 and 415 included.

Kept because it pays (`make bench-layers` on PostgreSQL, 2026-11-28): a placed order costs 3.24 M
instructions with it, 3.30 M without (−2.0%); DRF's negotiation itself drops from 188k to 55k
(the rest of its saving moves to the authentication, which then builds `request.headers` first).
tests/unit/test_negotiation.py holds it to DRF's own answers.
"""

from collections.abc import Iterable
from typing import Any

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request


def _plain(media_type: str) -> bool:
    """`type/subtype`, no wildcard and no parameter: DRF's match is then string equality."""
    return "*" not in media_type and ";" not in media_type


class ContentNegotiation(DefaultContentNegotiation):
    def select_renderer(
        self,
        request: Request,
        renderers: Iterable[BaseRenderer],
        format_suffix: str | None = None,
    ) -> tuple[BaseRenderer, str]:
        if isinstance(renderers, list) and renderers and not format_suffix:
            first = renderers[0]
            media_type = first.media_type
            # request.META, not request.headers: that one builds a dict of every header.
            accept = request.META.get("HTTP_ACCEPT", "*/*")
            override = self.settings.URL_FORMAT_OVERRIDE
            if (
                (accept == "*/*" or accept == media_type)
                and _plain(media_type)
                and not (override and request.query_params.get(override))
            ):
                # DRF answers the same: the first renderer, with its own (more specific) type.
                return first, media_type
        result: tuple[BaseRenderer, str] = super().select_renderer(
            request, renderers, format_suffix
        )
        return result

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> Any:
        content_type = request.content_type
        if (
            isinstance(parsers, list)
            and parsers
            and content_type == parsers[0].media_type
            and _plain(content_type)
        ):
            return parsers[0]
        return super().select_parser(request, parsers)
