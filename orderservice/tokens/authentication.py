"""`Authorization: Token <key>` and `Authorization: Bearer <key>`, against hashed tokens."""

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import HTTP_HEADER_ENCODING, authentication, exceptions
from rest_framework.request import Request

from orderservice.tokens.services import token_user


class TokenAuthentication(authentication.TokenAuthentication):
    keyword = "Token"

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        # DRF's own, reading request.META: its request.headers builds a dict of every header
        # on each request, for this one.
        header = request.META.get("HTTP_AUTHORIZATION", b"")
        if isinstance(header, str):
            header = header.encode(HTTP_HEADER_ENCODING)
        auth = header.split()
        if not auth or auth[0].lower() != self.keyword.lower().encode():
            return None
        if len(auth) == 1:
            raise exceptions.AuthenticationFailed(
                _("Invalid token header. No credentials provided.")
            )
        if len(auth) > 2:
            raise exceptions.AuthenticationFailed(
                _("Invalid token header. Token string should not contain spaces.")
            )
        try:
            token = auth[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed(
                _("Invalid token header. Token string should not contain invalid characters.")
            ) from exc
        return self.authenticate_credentials(token)

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
