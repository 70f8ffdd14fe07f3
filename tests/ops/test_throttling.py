"""Rate limits: per user and per IP, 429 with Retry-After, counted in the cache (Redis when set)."""

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import caches
from django.test import override_settings
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from orderservice.api import throttling

pytestmark = pytest.mark.django_db

THROTTLED = "Too many requests. Retry later."
REDIS_TEST_URL = "redis://127.0.0.1:6379/5"  # a database number of these tests' own


def rates(user: str | None = None, ip: str | None = None) -> Any:
    return override_settings(
        REST_FRAMEWORK={
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {"user": user, "ip": ip},
        }
    )


@pytest.fixture(autouse=True)
def _fresh_counters(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    caches["default"].clear()
    throttling.local_counts_clear()
    # A fixed clock in the middle of a minute: windows don't roll over during a test.
    monkeypatch.setattr(throttling.FixedWindowThrottle, "timer", staticmethod(lambda: 6_000_030.0))
    yield
    caches["default"].clear()
    throttling.local_counts_clear()


def test_user_over_the_limit_gets_429_with_retry_after(make_client):
    # given
    alice, bob = make_client("alice"), make_client("bob")

    with rates(user="3/min"):
        # when
        answers = [alice.get("/products") for _ in range(4)]
        other_user = bob.get("/products")

    # then
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    throttled = answers[-1]
    assert throttled.json()["error"] == THROTTLED
    assert throttled.json()["documentation"].endswith("#throttled")
    assert throttled["Retry-After"] == "30"  # the rest of the minute
    assert other_user.status_code == 200


def test_limit_applies_again_in_the_next_window(make_client, monkeypatch):
    alice = make_client("alice")
    with rates(user="1/min"):
        assert alice.get("/products").status_code == 200
        assert alice.get("/products").status_code == 429
        monkeypatch.setattr(
            throttling.FixedWindowThrottle, "timer", staticmethod(lambda: 6_000_061.0)
        )
        assert alice.get("/products").status_code == 200


def test_writes_are_throttled_like_reads(make_client):
    alice = make_client("alice")
    with rates(user="1/min"):
        alice.get("/products")
        response = alice.post("/orders", {"products": []}, format="json")

    assert response.status_code == 429


def test_per_ip_limit_applies_before_credentials_are_checked(make_client):
    # given: three kinds of caller, all from 127.0.0.1
    anonymous = APIClient()
    guessing = APIClient()
    guessing.credentials(HTTP_AUTHORIZATION="Token not-a-real-key")
    alice = make_client("alice")

    with rates(ip="3/min"):
        # when
        answers = [
            anonymous.get("/products").status_code,
            guessing.get("/products").status_code,
            alice.get("/products").status_code,
            guessing.get("/products"),
        ]

    # then
    assert answers[:3] == [401, 401, 200]
    assert answers[3].status_code == 429
    assert answers[3].json()["error"] == THROTTLED
    assert int(answers[3]["Retry-After"]) >= 1


def test_per_ip_limit_counts_each_address_apart(make_client):
    alice = make_client("alice")
    with rates(ip="1/min"):
        first = alice.get("/products", REMOTE_ADDR="10.0.0.1")
        second = alice.get("/products", REMOTE_ADDR="10.0.0.2")
        again = alice.get("/products", REMOTE_ADDR="10.0.0.1")

    assert [first.status_code, second.status_code, again.status_code] == [200, 200, 429]


def test_off_means_no_limit(make_client):
    alice = make_client("alice")
    with rates(user="off", ip="off"):
        assert {alice.get("/products").status_code for _ in range(20)} == {200}


def test_default_rates_leave_room_for_the_test_suite_and_the_benchmark():
    # The benchmark drives one server from one address at up to ~1,500 requests/s.
    for scope, at_least_per_second in (("user", 300), ("ip", 1500)):
        parsed = throttling.parse_rate(api_settings.DEFAULT_THROTTLE_RATES[scope])
        assert parsed is not None
        count, period = parsed
        assert count / period >= at_least_per_second


@pytest.mark.parametrize(
    ("rate", "parsed"),
    [("100/min", (100, 60)), ("5/s", (5, 1)), ("7/hour", (7, 3600)), ("2/d", (2, 86400))],
)
def test_parse_rate(rate, parsed):
    assert throttling.parse_rate(rate) == parsed


@pytest.mark.parametrize("rate", ["", "off", None])
def test_parse_rate_no_limit(rate):
    assert throttling.parse_rate(rate) is None


@pytest.mark.parametrize("rate", ["many/min", "5/fortnight", "5"])
def test_parse_rate_refuses_nonsense(rate):
    with pytest.raises(ValueError, match="throttle rate"):
        throttling.parse_rate(rate)


def test_cache_down_lets_requests_through(make_client):
    alice = make_client("alice")
    dead = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    with override_settings(CACHES=dead), rates(user="1/min", ip="1/min"):
        assert [alice.get("/products").status_code for _ in range(3)] == [200, 200, 200]


def _redis_or_skip() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis at {REDIS_TEST_URL}: {exc}")


@pytest.fixture
def redis_cache() -> Iterator[dict[str, Any]]:
    """CACHES on the real Redis, under a key prefix of this test's own (never FLUSHALL)."""
    _redis_or_skip()
    import redis

    prefix = f"ostest-{uuid.uuid4().hex}"
    yield {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_TEST_URL,
            "KEY_PREFIX": prefix,
        }
    }
    client = redis.Redis.from_url(REDIS_TEST_URL)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


def test_counters_live_in_redis_when_configured(make_client, redis_cache):
    import redis

    alice = make_client("alice")
    with override_settings(CACHES=redis_cache), rates(user="2/min", ip="100/min"):
        answers = [alice.get("/products").status_code for _ in range(3)]

    assert answers == [200, 200, 429]
    prefix = redis_cache["default"]["KEY_PREFIX"]
    keys = sorted(
        key.decode() for key in redis.Redis.from_url(REDIS_TEST_URL).scan_iter(f"{prefix}:*")
    )
    assert [key.split(":", 2)[2] for key in keys] == [
        "throttle:ip:127.0.0.1:100000",
        f"throttle:user:{_user_pk('alice')}:100000",
    ]


def _user_pk(username: str) -> int:
    from django.contrib.auth import get_user_model

    return int(get_user_model().objects.get(username=username).pk)


def test_redis_counters_are_shared_between_processes(make_client, redis_cache):
    # given: another process already spent alice's allowance in this window
    import redis

    alice = make_client("alice")
    prefix = redis_cache["default"]["KEY_PREFIX"]
    key = f"{prefix}:1:throttle:user:{_user_pk('alice')}:100000"
    redis.Redis.from_url(REDIS_TEST_URL).set(key, 5, ex=60)

    # when
    with override_settings(CACHES=redis_cache), rates(user="5/min"):
        response = alice.get("/products")

    # then
    assert response.status_code == 429
