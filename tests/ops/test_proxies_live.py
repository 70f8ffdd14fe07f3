"""Under uWSGI: X-Forwarded-Proto and X-Forwarded-For count only from TRUSTED_PROXIES."""

import pytest
import requests

from tests.live import user_token

pytestmark = pytest.mark.postgres


def _docs_link(url: str) -> str:
    answer = requests.get(f"{url}/nowhere", headers={"X-Forwarded-Proto": "https"}, timeout=10)
    assert answer.status_code == 404
    return str(answer.json()["documentation"])


def test_without_trusted_proxies_no_client_can_claim_https_or_another_address(
    live_server_factory,
):
    # given: the defaults, and a per-IP limit of 4 (the start-up probe's request is the first)
    token = user_token("alice")
    server = live_server_factory(workers=1, env={"THROTTLE_RATE_IP": "4/d"})

    # when
    link = _docs_link(server.url)
    answers = [
        requests.get(
            f"{server.url}/products",
            headers={"Authorization": f"Token {token}", "X-Forwarded-For": f"10.0.0.{n}"},
            timeout=10,
        ).status_code
        for n in range(4)
    ]

    # then: neither the server nor the app believed the headers
    assert link.startswith("http://127.0.0.1:"), link
    assert answers == [200, 200, 200, 429]


def test_a_trusted_proxy_is_believed(live_server_factory):
    # given: the test client plays the proxy at 127.0.0.1
    token = user_token("alice")
    server = live_server_factory(
        workers=1, env={"TRUSTED_PROXIES": "127.0.0.1", "THROTTLE_RATE_IP": "1/d"}
    )

    # when
    link = _docs_link(server.url)
    answers = [
        requests.get(
            f"{server.url}/products",
            headers={"Authorization": f"Token {token}", "X-Forwarded-For": f"10.0.0.{n}"},
            timeout=10,
        ).status_code
        for n in (1, 2, 1)
    ]

    # then
    assert link.startswith("https://127.0.0.1:"), link
    assert answers == [200, 200, 429]
