"""`authenticated_user`: the user behind an authenticated request, typed for the views."""

from django.contrib.auth.models import User
from django.http import HttpRequest
from rest_framework import exceptions
from rest_framework.request import Request


def authenticated_user(request: Request | HttpRequest) -> User:
    """The user behind an authenticated request (IsAuthenticated has already refused the rest)."""
    user = request.user
    if not isinstance(user, User):
        raise exceptions.NotAuthenticated()
    return user
