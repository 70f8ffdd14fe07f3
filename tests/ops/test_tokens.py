"""Tokens at rest, revocation and expiry: what a leaked database or a revoked key can do."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from orderservice.common import clock
from orderservice.tokens.models import ApiToken

pytestmark = pytest.mark.django_db


def _client(key: str, scheme: str = "Token") -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{scheme} {key}")
    return client


def _issue(*args: str) -> str:
    out = StringIO()
    call_command("issue_token", *args, stdout=out)
    return out.getvalue().strip()


def test_a_database_dump_yields_no_working_token():
    # given
    key = _issue("alice")
    stored = ApiToken.objects.get(user__username="alice")

    # when
    with_hash = _client(stored.key_hash).get("/products")
    with_hash_bearer = _client(stored.key_hash, "Bearer").get("/products")
    with_prefix = _client(stored.prefix).get("/products")
    with_key = _client(key).get("/products")

    # then
    assert key not in {stored.key_hash, stored.prefix}
    assert key not in str(list(ApiToken.objects.values()))
    assert with_hash.status_code == 401
    assert with_hash_bearer.status_code == 401
    assert with_prefix.status_code == 401
    assert with_key.status_code == 200


def test_issue_token_prints_only_the_key():
    key = _issue("bob", "--staff")

    assert len(key.split()) == 1
    assert len(key) >= 40
    assert _client(key).get("/products").status_code == 200


def test_revoke_token_by_key_stops_that_key_only():
    # given
    first, second = _issue("alice"), _issue("alice")
    assert _client(first).get("/products").status_code == 200  # now in the token cache

    # when
    out = StringIO()
    call_command("revoke_token", f"--key={first}", stdout=out)

    # then
    assert out.getvalue().strip() == "Revoked 1 token."
    response = _client(first).get("/products")
    assert response.status_code == 401
    assert response.json()["error"] == (
        "Authentication credentials were not provided or are invalid."
    )
    assert _client(second).get("/products").status_code == 200


def test_revoke_token_by_user_stops_all_their_keys():
    # given
    keys = [_issue("alice"), _issue("alice")]
    other = _issue("bob")
    for key in keys:
        assert _client(key).get("/products").status_code == 200

    # when
    out = StringIO()
    call_command("revoke_token", "--user", "alice", stdout=out)

    # then
    assert out.getvalue().strip() == "Revoked 2 tokens."
    assert [_client(key).get("/products").status_code for key in keys] == [401, 401]
    assert _client(other).get("/products").status_code == 200
    assert not ApiToken.objects.filter(user__username="alice").exists()


def test_revoke_token_refuses_unknown_key_or_user_and_needs_one_of_them():
    with pytest.raises(CommandError, match="No such token"):
        call_command("revoke_token", "--key", "not-a-key", stdout=StringIO())
    with pytest.raises(CommandError, match="has no token"):
        call_command("revoke_token", "--user", "nobody", stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("revoke_token", stdout=StringIO())


def test_issue_token_expires_in_days(monkeypatch):
    # given
    key = _issue("alice", "--expires-in", "2")
    token = ApiToken.objects.get(user__username="alice")
    expected = clock.now() + timedelta(days=2)
    assert token.expires_at is not None
    assert abs((token.expires_at - expected).total_seconds()) < 60
    assert _client(key).get("/products").status_code == 200

    # when: two days and a minute later
    later = token.expires_at + timedelta(minutes=1)
    monkeypatch.setattr(clock, "now", lambda: later)

    # then
    assert _client(key).get("/products").status_code == 401
    assert _client(key, "Bearer").get("/products").status_code == 401


def test_issue_token_without_expiry_never_expires(monkeypatch):
    key = _issue("alice")
    far = clock.now() + timedelta(days=3650)
    monkeypatch.setattr(clock, "now", lambda: far)

    assert ApiToken.objects.get(user__username="alice").expires_at is None
    assert _client(key).get("/products").status_code == 200


@pytest.mark.parametrize("days", ["0", "-1"])
def test_issue_token_refuses_a_non_positive_expiry(days):
    with pytest.raises(CommandError, match="positive"):
        call_command("issue_token", "alice", "--expires-in", days, stdout=StringIO())
    assert not ApiToken.objects.exists()
