"""The Authorization header shortcut gives exactly DRF's answers: compared with DRF's own code on
the same requests."""

from typing import Any

import pytest
from django.http import Http404
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication as DrfTokenAuthentication
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from orderservice.tokens.authentication import BearerAuthentication, TokenAuthentication

factory = APIRequestFactory()


def outcome(call: Any) -> Any:
    """What a call answers, or which exception it raises (with its message, when it has one)."""
    try:
        return ("ok", call())
    except (exceptions.APIException, Http404) as exc:
        return ("raised", type(exc).__name__, str(getattr(exc, "detail", "")))


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
