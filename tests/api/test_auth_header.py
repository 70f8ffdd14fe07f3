"""The Authorization header read from request.META gives DRF's own outcome for every shape.

TokenAuthentication.authenticate reads the header from META instead of `request.headers` (which
builds every header to read one); each case runs through both and must end the same way.
"""

import pytest
from django.test import RequestFactory
from rest_framework import authentication as drf_authentication
from rest_framework import exceptions
from rest_framework.request import Request

from orderservice.tokens.authentication import BearerAuthentication, TokenAuthentication
from orderservice.tokens.services import token_issue

pytestmark = pytest.mark.django_db

HEADERS = [
    None,
    "",
    " ",
    "Token",
    "Token ",
    "Token {key}",
    "token {key}",
    "TOKEN {key}",
    "Bearer {key}",
    "bearer {key}",
    "Token  {key}",
    "  Token {key}  ",
    "Token\t{key}",
    "Token {key} extra",
    "Token {key}\xa0",
    "Token\xa0{key}",
    "Token\x1c{key}",
    "Token \xe9{key}",
    "Token \xc3\xa9",  # latin-1 text of the UTF-8 bytes of "é": a well-formed, unknown key
    "Token not-a-real-key",
    "Tokenx {key}",
    "Basic YWxpY2U6c2VjcmV0",
    "{key}",
]


def _outcome(authenticate, request: Request) -> object:
    try:
        result = authenticate(request)
    except exceptions.AuthenticationFailed:
        return "failed"
    return None if result is None else result[0].get_username()


@pytest.mark.parametrize("auth_class", [TokenAuthentication, BearerAuthentication])
@pytest.mark.parametrize("header", HEADERS)
def test_same_outcome_as_drf_reading_request_headers(auth_class, header):
    # given
    key = token_issue(username="alice")
    extra = {} if header is None else {"HTTP_AUTHORIZATION": header.format(key=key)}
    request = Request(RequestFactory().get("/products", **extra))
    ours = auth_class()

    # when: ours, and DRF's authenticate (request.headers) with the same credentials check
    mine = _outcome(ours.authenticate, request)
    drfs = _outcome(lambda r: drf_authentication.TokenAuthentication.authenticate(ours, r), request)

    # then
    assert mine == drfs


def test_a_valid_key_authenticates_under_both_schemes():
    key = token_issue(username="alice")
    for auth_class, scheme in [(TokenAuthentication, "Token"), (BearerAuthentication, "Bearer")]:
        request = Request(RequestFactory().get("/", HTTP_AUTHORIZATION=f"{scheme} {key}"))
        assert _outcome(auth_class().authenticate, request) == "alice"
