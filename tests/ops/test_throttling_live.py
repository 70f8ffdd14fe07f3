"""With REDIS_URL, the rate limits hold across the server's workers: they count in one place."""

import uuid

import pytest
import redis
import requests

from tests.live import run_concurrently, user_token

pytestmark = pytest.mark.postgres

REDIS_TEST_URL = "redis://127.0.0.1:6379/5"  # a database number of these tests' own
WORKERS = 3
LIMIT = 6


def test_user_limit_is_shared_by_all_workers_through_redis(live_server_factory):
    # given
    client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis at {REDIS_TEST_URL}: {exc}")
    prefix = f"ostest-{uuid.uuid4().hex}"
    token = user_token("alice")
    server = live_server_factory(
        workers=WORKERS,
        env={
            "REDIS_URL": REDIS_TEST_URL,
            "CACHE_KEY_PREFIX": prefix,
            "THROTTLE_RATE_USER": f"{LIMIT}/d",  # a day's window: no roll-over mid-test
            "THROTTLE_RATE_IP": "off",
        },
    )

    def get() -> requests.Response:
        # A connection of its own each time, so any worker may take it.
        return requests.get(
            f"{server.url}/products", headers={"Authorization": f"Token {token}"}, timeout=10
        )

    try:
        # when: three times the limit, at once, over three workers
        outcomes = run_concurrently([get] * (3 * LIMIT))

        # then: the limit held for the whole server, not per worker
        codes = sorted(outcome.value.status_code for outcome in outcomes)
        assert codes == [200] * LIMIT + [429] * (2 * LIMIT)
        throttled = next(o.value for o in outcomes if o.value.status_code == 429)
        assert throttled.json()["error"] == "Too many requests. Retry later."
        assert int(throttled.headers["Retry-After"]) >= 1
        assert list(client.scan_iter(f"{prefix}:*"))
    finally:
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)
