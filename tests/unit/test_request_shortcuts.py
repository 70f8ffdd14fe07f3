"""The per-request shortcuts (content negotiation, the Authorization header, the client IP) give
exactly DRF's answers: each is compared with DRF's own code on the same requests."""

from typing import Any

import pytest
from django.http import Http404
from rest_framework import exceptions, parsers, renderers
from rest_framework.authentication import TokenAuthentication as DrfTokenAuthentication
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory
from rest_framework.throttling import BaseThrottle

from orderservice.api.negotiation import ContentNegotiation
from orderservice.api.parsers import JSONParser
from orderservice.api.renderers import JSONRenderer
from orderservice.api.throttling import IpRateThrottle
from orderservice.tokens.authentication import BearerAuthentication, TokenAuthentication

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


AUTHORIZATIONS = [
    None,
    "",
    "Token abc123",
    "token abc123",
    "TOKEN abc123",
    "Bearer abc123",
    "Token",
    "Token a b",
    "Token  abc123 ",
    "Basic dXNlcjpwYXNz",
    "Token\tabc123",
    "Tokenabc123",
    "Token caf\u00e9",
]


def credentials_echoed(cls: type) -> type:
    """The class with the key lookup replaced: returns the key it was given."""
    return type(
        f"Echo{cls.__name__}", (cls,), {"authenticate_credentials": lambda self, key: (key, None)}
    )


@pytest.mark.parametrize("authorization", AUTHORIZATIONS)
@pytest.mark.parametrize("ours", [TokenAuthentication, BearerAuthentication])
def test_authorization_header_is_read_as_drf_reads_it(authorization, ours):
    headers = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}
    request = Request(factory.get("/products", **headers))
    theirs = type("Drf", (DrfTokenAuthentication,), {"keyword": ours.keyword})

    assert outcome(lambda: credentials_echoed(ours)().authenticate(request)) == outcome(
        lambda: credentials_echoed(theirs)().authenticate(request)
    )


@pytest.mark.parametrize("num_proxies", [None, 0, 1, 2])
@pytest.mark.parametrize(
    "forwarded_for", [None, "", "203.0.113.7", "203.0.113.7, 10.0.0.1", " a , b ,c", ","]
)
@pytest.mark.parametrize("remote_addr", ["198.51.100.2", ""])
def test_client_ip_is_drfs(settings, num_proxies, forwarded_for, remote_addr):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": num_proxies}
    meta = {"REMOTE_ADDR": remote_addr}
    if forwarded_for is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded_for
    request = Request(factory.get("/products", **meta))

    assert IpRateThrottle().identity(request) == (BaseThrottle().get_ident(request) or None)
