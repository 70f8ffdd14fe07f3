"""The production stack of SPEC §13 end to end: nginx -> 2 uWSGI app servers (1 worker
each) -> PgBouncer (transaction mode) -> PostgreSQL, started by deploy/stack.py.

The app servers have two workers between them on purpose: two connections that a sync worker
would serve to the end (an idle client, a slow body) take them all, unless nginx holds those.
"""

import base64
import contextlib
import hashlib
import hmac
import http.server
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import requests
from django.conf import settings
from django.utils import timezone

from deploy.stack import PROXY_ERRORS, UPSTREAM_FAIL_TIMEOUT_SECONDS
from orderservice.api import errors
from orderservice.orders import placement
from orderservice.orders.models import Order
from tests.plannings import order_statement_plannings
from tests.stack.conftest import Stack, read_json

pytestmark = pytest.mark.postgres

BODY_LIMIT = settings.MAX_REQUEST_BODY_BYTES


def session(token: str) -> requests.Session:
    client = requests.Session()
    client.headers.update({"Authorization": f"Token {token}"})
    return client


def raw_request(stack: Stack, data: bytes, timeout: float = 10) -> bytes:
    """Send bytes to nginx as they are; the whole answer, read until nginx closes."""
    port = int(stack.url.rpartition(":")[2])
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        connection.sendall(data)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


def assert_proxy_error(stack: Stack, raw: bytes, status: int, slug: str) -> dict[str, object]:
    """nginx's own answer (no X-Request-ID: the app adds one to all of its own) in §1's shape."""
    got_status, headers, body = read_json(raw)
    assert got_status == status, raw[:300]
    assert headers["content-type"] == "application/json"
    assert "x-request-id" not in headers, "answered by the app, not by nginx"
    assert set(body) == {"error", "documentation"}
    assert isinstance(body["error"], str)
    assert body["error"]
    assert body["documentation"] == f"{stack.url}/docs/errors#{slug}"
    return body


# --- the API through the whole chain ------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_token_product_order_view_cancel_through_nginx(stack):
    staff = session(stack.token("boss", staff=True))
    user = session(stack.token("alice"))

    created = staff.post(
        f"{stack.url}/products",
        json={"product_id": "SKU-1", "name": "One", "product_count": 5},
        timeout=10,
    )
    placed = user.post(
        f"{stack.url}/orders", json={"products": [{"product_id": "SKU-1", "item_count": 2}]}
    )
    order_id = placed.json()["order_id"]
    viewed = user.get(f"{stack.url}/orders/{order_id}", timeout=10)
    cancelled = user.delete(f"{stack.url}/orders/{order_id}", timeout=10)
    product = user.get(f"{stack.url}/products/SKU-1", timeout=10)

    assert created.status_code == 201, created.text
    assert placed.status_code == 200, placed.text
    assert viewed.status_code == 200
    assert viewed.json()["order_id"] == order_id
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json() == {"message": "Order successfully cancelled"}
    assert product.json()["product_count"] == 5
    assert placed.headers["Server"] == "nginx"
    assert placed.headers["X-Request-ID"]  # the app's answer, passed through


class _Receiver(http.server.BaseHTTPRequestHandler):
    """Records each webhook POST (headers, body) and answers 204."""

    received: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.django_db(transaction=True)
def test_the_stacks_webhook_worker_delivers_signed_events(stack):
    # given: a receiver on loopback, and an endpoint for order events
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    staff = session(stack.token("hooks", staff=True))
    user = session(stack.token("hooked"))
    staff.post(
        f"{stack.url}/products",
        json={"product_id": "SKU-HOOK", "name": "Hook", "product_count": 5},
        timeout=10,
    )
    endpoint = staff.post(
        f"{stack.url}/webhooks",
        json={"url": f"http://127.0.0.1:{receiver.server_port}/hook", "events": ["order.*"]},
        timeout=10,
    )
    assert endpoint.status_code == 201, endpoint.text
    secret = base64.b64decode(endpoint.json()["secret"].removeprefix("whsec_"))
    try:
        # when: an order is placed and cancelled through nginx
        placed = user.post(
            f"{stack.url}/orders", json={"products": [{"product_id": "SKU-HOOK", "item_count": 1}]}
        )
        order_id = placed.json()["order_id"]
        assert user.delete(f"{stack.url}/orders/{order_id}", timeout=10).status_code == 200
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(
            json.loads(body)["type"] == "order.cancelled" for _, body in _Receiver.received
        ):
            time.sleep(0.2)
    finally:
        receiver.shutdown()

    # then: the worker under supervisord delivered the cancel, signed (Standard Webhooks)
    assert "RUNNING" in stack.supervisorctl("status", "webhooks")
    cancels = [(h, b) for h, b in _Receiver.received if json.loads(b)["type"] == "order.cancelled"]
    assert cancels, _Receiver.received
    headers, body = cancels[0]
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(secret, signed, hashlib.sha256).digest()).decode()
    assert f"v1,{expected}" in headers["webhook-signature"].split()
    assert json.loads(body)["data"]["order_id"] == order_id


@pytest.mark.django_db(transaction=True)
def test_idempotency_key_through_pgbouncer_places_one_order(stack):
    staff = session(stack.token("boss", staff=True))
    staff.post(
        f"{stack.url}/products",
        json={"product_id": "SKU-1", "name": "One", "product_count": 5},
        timeout=10,
    )
    body = {"products": [{"product_id": "SKU-1", "item_count": 2}]}
    key = {"Idempotency-Key": "stack-key-1"}

    first = staff.post(f"{stack.url}/orders", json=body, headers=key, timeout=10)
    again = staff.post(f"{stack.url}/orders", json=body, headers=key, timeout=10)
    orders = staff.get(f"{stack.url}/orders", timeout=10).json()
    product = staff.get(f"{stack.url}/products/SKU-1", timeout=10).json()

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert [order["order_id"] for order in orders["results"]] == [first.json()["order_id"]]
    assert product["product_count"] == 3


def test_pooled_connections_have_the_apps_session_settings(stack):
    expected = {
        "statement_timeout": str(round(settings.DB_STATEMENT_TIMEOUT_SECONDS * 1000)),
        "lock_timeout": str(round(settings.DB_LOCK_TIMEOUT_SECONDS * 1000)),
        "idle_in_transaction_session_timeout": str(
            round(settings.DB_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS * 1000)
        ),
        # The plans cached in the hot statements' functions stay generic (common/db/stored.py).
        "plan_cache_mode": settings.DB_PLAN_CACHE_MODE,
    }
    conf = settings.DATABASES["default"]
    # More clients than the pool has server connections: each answer comes from some pooled
    # connection, all of them set up by connect_query (the app sends no `options`: DB_POOLER).
    clients = [
        psycopg.connect(
            host="127.0.0.1",
            port=stack.pgbouncer_port,
            user=conf["USER"] or "postgres",
            dbname=conf["NAME"],
            autocommit=True,
            connect_timeout=5,
        )
        for _ in range(6)
    ]
    try:
        for client in clients:
            rows = client.execute(
                "SELECT name, setting FROM pg_settings WHERE name = ANY(%s)",
                (list(expected),),
            ).fetchall()
            assert dict(rows) == expected
    finally:
        for client in clients:
            client.close()


def test_lock_timeout_is_in_force_through_pgbouncer(stack):
    conf = settings.DATABASES["default"]
    connect: dict[str, Any] = {
        "host": "127.0.0.1",
        "user": conf["USER"] or "postgres",
        "dbname": conf["NAME"],
        "connect_timeout": 5,
    }
    with (
        psycopg.connect(port=conf["PORT"] or 5432, **connect) as holder,
        psycopg.connect(port=stack.pgbouncer_port, **connect) as pooled,
    ):
        holder.execute("SELECT pg_advisory_xact_lock(7373)")
        start = time.monotonic()
        with pytest.raises(psycopg.errors.LockNotAvailable):
            pooled.execute("SELECT pg_advisory_xact_lock(7373)")
        waited = time.monotonic() - start

    assert waited == pytest.approx(settings.DB_LOCK_TIMEOUT_SECONDS, abs=1.0)


def test_through_pgbouncer_the_order_statement_is_planned_once_per_server_connection(stack):
    # The app's call, as the app servers send it behind PgBouncer: parameters bound on the
    # client, nothing prepared. In a transaction (rolled back), so that all of it reaches one
    # server connection, which may have planned the statement already.
    conf = settings.DATABASES["default"]
    now = timezone.now()
    with psycopg.connect(
        host="127.0.0.1",
        port=stack.pgbouncer_port,
        user=conf["USER"] or "postgres",
        dbname=conf["NAME"],
        connect_timeout=5,
        cursor_factory=psycopg.ClientCursor,
    ) as pooled:
        [(user_id,)] = pooled.execute(
            "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name,"
            " email, is_staff, is_active, date_joined)"
            " VALUES ('', false, 'planner', '', '', '', false, true, now()) RETURNING id"
        ).fetchall()
        pooled.execute(
            "INSERT INTO inventory_product (product_id, name, product_count, created_at,"
            " updated_at, low_stock_threshold, price, unfilled_units)"
            " VALUES ('PLANNED', 'p', 10, now(), now(), 0, 1.00, 0)"
        )
        with order_statement_plannings(pooled) as plannings:
            for _ in range(4):
                order = Order(user_id=user_id, created_at=now, updated_at=now)
                params = placement._params_joined(
                    placement._place_order_params(order, "planner", {"PLANNED": 1}, False),
                    placement._place_order_events_params(order, "planner"),
                )
                pooled.execute(placement._PLACE_ORDER_WITH_EVENTS.call, params).fetchall()
        [(placed,)] = pooled.execute(
            "SELECT count(*) FROM orders_order WHERE user_id = %s", [user_id]
        ).fetchall()
        pooled.rollback()

    assert placed == 4
    assert len(plannings) <= 1  # not once per order


# --- slow and idle clients --------------------------------------------------------------------


def test_idle_connections_hold_no_app_worker(stack):
    idle = [
        socket.create_connection(("127.0.0.1", int(stack.url.rpartition(":")[2]))) for _ in range(4)
    ]
    try:
        answers = [requests.get(f"{stack.url}/healthz", timeout=1) for _ in range(4)]
    finally:
        for connection in idle:
            connection.close()

    assert [answer.status_code for answer in answers] == [200] * 4


def test_without_nginx_a_slow_client_holds_an_app_worker(stack):
    # What the test above guards against: straight to an app server (one worker), a client
    # that has sent half a request holds the worker, and the next request waits. (A connection
    # that sends nothing holds none: uWSGI's socket hands a connection to accept() only once
    # data came, TCP_DEFER_ACCEPT.)
    app = f"http://127.0.0.1:{stack.app_ports[0]}"
    assert requests.get(f"{app}/healthz", timeout=5).status_code == 200
    with socket.create_connection(("127.0.0.1", stack.app_ports[0])) as slow:
        slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        time.sleep(0.2)  # the worker has accepted it and waits for the rest
        with pytest.raises(requests.Timeout):
            requests.get(f"{app}/healthz", timeout=1)
    assert requests.get(f"{app}/healthz", timeout=5).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_slow_bodies_hold_no_app_worker(stack):
    token = stack.token("boss", staff=True)
    staff = session(token)
    staff.post(
        f"{stack.url}/products",
        json={"product_id": "SKU-1", "name": "One", "product_count": 5},
        timeout=10,
    )
    body = json.dumps({"products": [{"product_id": "SKU-1", "item_count": 1}]}).encode()
    head = (
        f"POST /orders HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Token {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    port = int(stack.url.rpartition(":")[2])
    slow = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(3)]
    try:
        for connection in slow:
            connection.sendall(head)
        # Byte by byte over about 2.5 s, all three clients together; meanwhile others are served.
        answered_meanwhile = []
        for index, byte in enumerate(body):
            for connection in slow:
                connection.sendall(bytes([byte]))
            if index % 10 == 0:
                answered_meanwhile.append(
                    requests.get(f"{stack.url}/healthz", timeout=1).status_code
                )
            time.sleep(2.5 / len(body))
        answers = []
        for connection in slow:
            raw = b""
            while chunk := connection.recv(65536):
                raw += chunk
            answers.append(read_json(raw)[0])
    finally:
        for connection in slow:
            connection.close()

    assert answered_meanwhile == [200] * len(answered_meanwhile)
    assert answers == [200, 200, 200]  # the bodies arrived whole, and each placed an order


# --- the errors nginx answers itself ------------------------------------------------------------


def test_proxy_error_bodies_say_what_the_app_says_for_the_same_error():
    catalogue = {kind.slug: kind for kind in (*errors.CATALOGUE, *errors.PROXY_CATALOGUE)}
    shared = [error for error in PROXY_ERRORS if error.slug in catalogue]

    assert shared == list(PROXY_ERRORS)  # every page of nginx's is documented on /docs/errors
    for error in shared:
        assert (error.status, error.message) == (
            catalogue[error.slug].status,
            catalogue[error.slug].message,
        )


@pytest.mark.django_db(transaction=True)
def test_body_over_the_limit_is_nginxs_413_json_and_one_at_the_limit_reaches_the_app(stack):
    token = stack.token("alice")
    order = b'{"products": [{"product_id": "SKU-1", "item_count": 1}]}'
    at_limit = order + b" " * (BODY_LIMIT - len(order))
    head = (
        f"POST /orders HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Token {token}\r\n"
        "Content-Type: application/json\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
    )

    too_large = raw_request(stack, head.format(length=BODY_LIMIT + 1).encode() + at_limit + b" ")
    fits = raw_request(stack, head.format(length=BODY_LIMIT).encode() + at_limit)

    body = assert_proxy_error(stack, too_large, 413, "request-too-large")
    assert body["error"] == "Request body too large."
    status, headers, app_body = read_json(fits)
    assert "x-request-id" in headers  # the app answered: SKU-1 does not exist
    assert (status, app_body["details"]) == (400, {"unknown_products": ["SKU-1"]})


def test_uri_over_the_limit_is_414_json(stack):
    raw = raw_request(
        stack, f"GET /orders?q={'a' * 9000} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    )

    assert assert_proxy_error(stack, raw, 414, "uri-too-long")["error"] == "Request URI too long."


def test_huge_header_is_431_json(stack):
    raw = raw_request(
        stack, f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {'a' * 9000}\r\n\r\n".encode()
    )

    body = assert_proxy_error(stack, raw, 431, "headers-too-large")
    assert body["error"] == "Request header fields too large."


def test_the_most_headers_nginx_lets_through_reach_the_app(stack):
    # nginx passes up to 4 x 8k of header lines; the app server must take them all: one it
    # dropped unanswered would be a 502, and nginx would count the server as failed for all.
    lines = "".join(f"X-Big-{n}: {'a' * 7900}\r\n" for n in range(3))
    raw = raw_request(
        stack,
        f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{lines}\r\n".encode(),
    )

    assert raw.startswith(b"HTTP/1.1 200"), raw[:200]
    assert requests.get(f"{stack.url}/healthz", timeout=5).status_code == 200


def test_malformed_request_is_400_json(stack):
    raw = raw_request(stack, b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")

    body = assert_proxy_error(stack, raw, 400, "invalid-request")
    assert body["error"] == errors.INVALID_REQUEST.message


# --- with the app servers stopped ---------------------------------------------------------------


class Upstream(http.server.ThreadingHTTPServer):
    """Stands in for an app server: records each request's headers; `drop` closes the
    connection without answering, as a worker killed mid-request would."""

    daemon_threads = True

    def __init__(self, port: int, *, drop: bool) -> None:
        self.drop = drop
        self.seen: list[dict[str, str]] = []
        super().__init__(("127.0.0.1", port), UpstreamHandler)


class UpstreamHandler(http.server.BaseHTTPRequestHandler):
    server: Upstream

    def handle_one(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.server.seen.append({"method": self.command, **dict(self.headers.items())})
        if self.server.drop:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = handle_one

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def upstreams(stack: Stack, *drops: bool) -> Iterator[list[Upstream]]:
    """A stand-in on the first app server's port, the second's, ... one per `drops` flag."""
    servers = [
        Upstream(port, drop=drop) for port, drop in zip(stack.app_ports, drops, strict=False)
    ]
    threads = [threading.Thread(target=server.serve_forever, daemon=True) for server in servers]
    for thread in threads:
        thread.start()
    # The stopped app servers failed earlier requests: nginx tries them again after this
    # (counted in whole seconds).
    time.sleep(UPSTREAM_FAIL_TIMEOUT_SECONDS + 1.1)
    try:
        yield servers
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


@pytest.fixture(scope="class")
def apps_stopped(stack: Stack) -> Iterator[Stack]:
    """The stack with both app servers stopped (supervisorctl); started again afterwards."""
    assert "stopped" in stack.supervisorctl("stop", "apps:*")
    try:
        yield stack
    finally:
        stack.supervisorctl("start", "apps:*")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{stack.url}/readyz", timeout=2).status_code == 200:
                    break
            time.sleep(0.2)


@pytest.mark.usefixtures("apps_stopped")
class TestWithTheAppServersStopped:
    def test_no_app_server_is_502_json_with_retry_after(self, stack):
        for method in ("GET", "POST"):
            raw = raw_request(
                stack,
                f"{method} /orders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n"
                "Connection: close\r\n\r\n".encode(),
            )
            body = assert_proxy_error(stack, raw, 502, "bad-gateway")
            assert read_json(raw)[1]["retry-after"] == "1"
            assert body["error"] == "Bad gateway: no app server answered. Please retry later."

    def test_the_app_sees_nginxs_forwarded_headers_not_the_clients(self, stack):
        # No header echo in the app: a stand-in app server records what nginx sends upstream.
        with upstreams(stack, False, False) as (first, second):
            answer = requests.get(
                f"{stack.url}/orders",
                headers={
                    "X-Forwarded-For": "1.2.3.4",
                    "X-Forwarded-Proto": "https",
                    "X-Forwarded-Host": "evil.example",
                    "Forwarded": "for=1.2.3.4;proto=https",
                    "X-Real-IP": "1.2.3.4",
                },
                timeout=10,
            )
        (seen,) = first.seen + second.seen

        assert answer.status_code == 200
        assert seen["X-Forwarded-For"] == "127.0.0.1"
        assert seen["X-Forwarded-Proto"] == "http"
        assert seen["Host"] == f"127.0.0.1:{stack.url.rpartition(':')[2]}"
        for dropped in ("X-Forwarded-Host", "Forwarded", "X-Real-IP"):
            assert dropped not in seen

    def test_a_failed_get_is_retried_on_another_server_a_failed_post_never(self, stack):
        # The first server drops every request after reading it; the second answers 200.
        # nginx takes the servers in turn; a server that failed rests for 2 s (fail_timeout).
        with upstreams(stack, True, False) as (dropping, answering):
            posts: list[requests.Response] = []
            while not dropping.seen and len(posts) < 6:
                posts.append(requests.post(f"{stack.url}/orders", json={}, timeout=10))
            time.sleep(UPSTREAM_FAIL_TIMEOUT_SECONDS + 1.1)
            gets: list[requests.Response] = []
            while len(dropping.seen) < 2 and len(gets) < 6:
                gets.append(requests.get(f"{stack.url}/orders", timeout=10))

        dropped_posts = [r for r in dropping.seen if r["method"] == "POST"]
        answered_posts = [r for r in answering.seen if r["method"] == "POST"]
        assert len(dropped_posts) == 1
        assert [p.status_code for p in posts].count(502) == 1  # the dropped one: not sent again
        assert len(answered_posts) == len(posts) - 1
        assert [g.status_code for g in gets] == [200] * len(gets)  # retried on the other server
        assert [r["method"] for r in dropping.seen] == ["POST", "GET"]
        assert len([r for r in answering.seen if r["method"] == "GET"]) == len(gets)

    def test_a_refused_connection_sends_a_post_to_the_next_server(self, stack):
        # A stand-in on the first app server's port, nothing on the second's: a POST refused
        # by the second is sent to the first instead, once (it had not been sent anywhere).
        errors_log = stack.state_dir / "logs" / "nginx-error.log"
        logged_before = len(errors_log.read_text())
        with upstreams(stack, False) as (answering,):
            posts = [requests.post(f"{stack.url}/orders", json={}, timeout=10) for _ in range(3)]
        logged = errors_log.read_text()[logged_before:].splitlines()

        assert [post.status_code for post in posts] == [200, 200, 200]
        assert [r["method"] for r in answering.seen] == ["POST", "POST", "POST"]
        refused = f'"POST /orders HTTP/1.1", upstream: "http://127.0.0.1:{stack.app_ports[1]}/'
        assert any("Connection refused" in line and refused in line for line in logged)


# --- the script ---------------------------------------------------------------------------------


def test_up_again_says_already_up_and_starts_nothing(stack):
    pid = stack.supervisord_pid()

    again = stack.run("up", "--no-collectstatic", "--no-migrate")

    assert again.returncode == 0, again.stderr
    assert f"already up at {stack.url}" in again.stdout
    assert stack.supervisord_pid() == pid
