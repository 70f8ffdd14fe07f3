"""The JSON body parser: DRF's, with a body nested too deeply for the decoder answered as a 400."""

from collections.abc import Mapping
from typing import IO, Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            # json.load recurses once per nesting level: "[[[[..." within 64 KiB exhausts the
            # stack. DRF only catches ValueError, so without this the client would get a 500.
            raise ParseError("JSON parse error - nested too deeply") from exc
