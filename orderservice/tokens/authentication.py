"""`Authorization: Token <key>` and `Authorization: Bearer <key>`, against hashed tokens."""

from typing import Any

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from orderservice.tokens.services import token_user


class TokenAuthentication(authentication.TokenAuthentication):
    keyword = "Token"

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
