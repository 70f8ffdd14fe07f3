"""The content-negotiation shortcut gives exactly DRF's answers: compared with DRF's own code on
the same requests."""

from typing import Any

import pytest
from django.http import Http404
from rest_framework import exceptions, parsers, renderers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from orderservice.api.negotiation import ContentNegotiation
from orderservice.api.parsers import JSONParser
from orderservice.api.renderers import JSONRenderer

factory = APIRequestFactory()


def outcome(call: Any) -> Any:
    """What a call answers, or which exception it raises (with its message, when it has one)."""
    try:
        return ("ok", call())
    except (exceptions.APIException, Http404) as exc:
        return ("raised", type(exc).__name__, str(getattr(exc, "detail", "")))


class VersionedJSON(renderers.JSONRenderer):
    media_type = "application/json; version=2"


RENDERER_SETS: dict[str, list[renderers.BaseRenderer]] = {
    "json": [JSONRenderer()],
    "json+browsable": [JSONRenderer(), renderers.BrowsableAPIRenderer()],
    "browsable+json": [renderers.BrowsableAPIRenderer(), JSONRenderer()],
    "versioned+json": [VersionedJSON(), JSONRenderer()],
    "none": [],
}
ACCEPTS = [
    None,
    "*/*",
    "application/json",
    "application/JSON",
    "application/*",
    "text/html",
    "application/json; indent=4",
    "application/json; version=2",
    "text/html, application/json;q=0.9, */*;q=0.8",
    "",
    " */*",
    "image/png",
]
QUERIES = ["", "?format=json", "?format=api", "?format=xml", "?other=1"]


@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("renderer_set", RENDERER_SETS)
@pytest.mark.parametrize("suffix", [None, "json", "api"])
def test_renderer_choice_is_drfs(accept, query, renderer_set, suffix):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(factory.get(f"/products{query}", **headers))
    candidates = RENDERER_SETS[renderer_set]

    ours = outcome(lambda: ContentNegotiation().select_renderer(request, candidates, suffix))
    drfs = outcome(lambda: DefaultContentNegotiation().select_renderer(request, candidates, suffix))

    assert ours == drfs


PARSER_SETS: dict[str, list[parsers.BaseParser]] = {
    "json": [JSONParser()],
    "json+form": [JSONParser(), parsers.FormParser()],
    "form+json": [parsers.FormParser(), JSONParser()],
    "file+json": [parsers.FileUploadParser(), JSONParser()],
    "none": [],
}
CONTENT_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "Application/Json",
    "application/x-www-form-urlencoded",
    "text/plain",
    "",
    "application/*",
]


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
@pytest.mark.parametrize("parser_set", PARSER_SETS)
def test_parser_choice_is_drfs(content_type, parser_set):
    request = Request(factory.generic("POST", "/orders", "{}", content_type=content_type))
    candidates = PARSER_SETS[parser_set]

    ours = ContentNegotiation().select_parser(request, candidates)
    drfs = DefaultContentNegotiation().select_parser(request, candidates)

    assert ours is drfs
