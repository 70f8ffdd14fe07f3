"""The per-process token cache: fewer queries, bounded staleness, expiry always checked."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orderservice.common import clock
from orderservice.tokens import services
from orderservice.tokens.models import ApiToken

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _cache_on(settings):
    settings.TOKEN_CACHE_SECONDS = 60
    services.token_cache_clear()
    yield
    services.token_cache_clear()


def test_second_lookup_of_a_key_runs_no_query():
    # given
    key = services.token_issue(username="carol")
    assert services.token_user(key) is not None

    # when
    with CaptureQueriesContext(connection) as queries:
        user = services.token_user(key)

    # then
    assert user is not None
    assert user.get_username() == "carol"
    assert len(queries) == 0


def test_revocation_is_seen_after_the_cache_is_cleared():
    # given
    key = services.token_issue(username="dave")
    assert services.token_user(key) is not None
    ApiToken.objects.filter(user__username="dave").delete()

    # when / then: cached until cleared (the stated bound), refused afterwards
    assert services.token_user(key) is not None
    services.token_cache_clear()
    assert services.token_user(key) is None


def test_expiry_is_checked_even_on_a_cache_hit(monkeypatch):
    # given: a token valid for 30 more seconds, looked up once (now cached)
    expires_at = timezone.now() + timedelta(seconds=30)
    key = services.token_issue(username="erin", expires_at=expires_at)
    assert services.token_user(key) is not None

    # when: the clock passes its expiry while the cache entry is still fresh
    monkeypatch.setattr(clock, "now", lambda: expires_at + timedelta(seconds=1))

    # then
    assert services.token_user(key) is None


def test_unknown_keys_are_not_cached():
    # given / when
    assert services.token_user("no-such-key") is None

    # then
    assert services._cache == {}
