"""Shared fixtures; PostgreSQL-only tests are skipped unless the database is PostgreSQL."""

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient
from rest_framework.views import APIView

from orderservice.tokens.services import token_issue


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (run with DATABASE_URL=postgres://...)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def make_client() -> Callable[..., APIClient]:
    """An APIClient authenticated as a (new) user: make_client("alice", staff=True)."""

    def make(username: str = "alice", *, staff: bool = False, scheme: str = "Token") -> APIClient:
        client = APIClient()
        client.credentials(
            HTTP_AUTHORIZATION=f"{scheme} {token_issue(username=username, staff=staff)}"
        )
        return client

    return make


@pytest.fixture
def client_user(make_client: Callable[..., APIClient]) -> APIClient:
    return make_client("alice")


@pytest.fixture
def client_staff(make_client: Callable[..., APIClient]) -> APIClient:
    return make_client("boss", staff=True)


@pytest.fixture
def dispatches(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths DRF's dispatch answered."""
    seen: list[str] = []
    dispatch = APIView.dispatch

    def spy(self: APIView, request: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(request.path)
        return dispatch(self, request, *args, **kwargs)

    monkeypatch.setattr(APIView, "dispatch", spy)
    return seen
