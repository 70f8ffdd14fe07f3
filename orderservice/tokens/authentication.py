"""`Authorization: Token <key>` and `Authorization: Bearer <key>`, against hashed tokens."""

from typing import Any

from rest_framework import HTTP_HEADER_ENCODING, authentication, exceptions
from rest_framework.request import Request

from orderservice.tokens.services import token_user


class TokenAuthentication(authentication.TokenAuthentication):
    keyword = "Token"

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        """DRF's answers, with the header read from `request.META`.

        DRF reads it through `request.headers`, which builds a dict of every header of the
        request (about 100k instructions, 3.6% of a GET of one product: `make bench-layers`) to
        read one. Same rules as DRF's: the scheme case-insensitively, then exactly one key;
        tests/api/test_auth_header.py checks the outcome against DRF's own for each shape.
        """
        header = request.META.get("HTTP_AUTHORIZATION")
        if not header:
            return None
        # Bytes, as DRF splits them: only ASCII whitespace separates (WSGI headers are latin-1).
        parts = header.encode(HTTP_HEADER_ENCODING).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed()
        try:
            key = parts[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed() from None
        return self.authenticate_credentials(key)

    def authenticate_credentials(self, key: str) -> tuple[Any, None]:
        user = token_user(key)
        if user is None:
            raise exceptions.AuthenticationFailed()
        return user, None

    def authenticate_header(self, request: Request) -> str:
        # DRF answers 401 (not 403) only when the first class names a WWW-Authenticate scheme.
        return self.keyword


class BearerAuthentication(TokenAuthentication):
    keyword = "Bearer"
