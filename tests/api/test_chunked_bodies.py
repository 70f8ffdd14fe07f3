"""A body sent with `Transfer-Encoding: chunked` and no Content-Length (SPEC §1's 411).

Django reads CONTENT_LENGTH bytes of `wsgi.input` and no more: without a Content-Length it sees
no body at all, whatever the server did with the chunks. So (orderservice/api/chunked.py):

- the server de-chunked the body and says its input ends there (`wsgi.input_terminated`, as
  gunicorn and granian do): the WSGI application's wrapper reads it, and the request goes on as
  if it had come with a Content-Length (413 over 64 KiB, as with one);
- the server did not (uWSGI's `--http-socket`: tests/ops/test_chunked_live.py): JsonErrorMiddleware
  answers 411, nothing read, nothing stored, before authentication;
- with a Content-Length, or without `Transfer-Encoding: chunked`: nothing changes.

The test client builds the WSGI environ a server would hand over: no CONTENT_LENGTH, the header,
the flag or not, and the body in `wsgi.input` as the server would let it be read; the wrapper's
`dechunked` is applied to it first, as orderservice.wsgi.application does (tested at the end).
"""

import io
import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from orderservice.api.chunked import dechunked
from orderservice.orders.models import Order
from orderservice.tokens.services import token_issue
from tests.api.support import ORDER_ID, TOO_LARGE, assert_error, json_body
from tests.factories import ProductFactory, stock

pytestmark = pytest.mark.django_db

ORDER = {"products": [{"product_id": "SKU-1", "item_count": 2}]}
LENGTH_REQUIRED = "Length required. Send the body with Content-Length."
LIMIT = 64 * 1024


@pytest.fixture(autouse=True)
def product() -> None:
    ProductFactory.create(product_id="SKU-1", product_count=5)


class Trickle(io.RawIOBase):
    """A de-chunked input that hands out at most 7 bytes a read, as a socket may."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1, /) -> bytes:
        return self._data.read(7 if size is None or size < 0 else min(size, 7))


def _chunked(
    client: APIClient, body: bytes, *, terminated: bool | None, stream: Any = None, **extra: Any
) -> Any:
    """POST /orders as the server hands it over: Transfer-Encoding: chunked, no Content-Length."""
    environ: dict[str, Any] = {
        "HTTP_TRANSFER_ENCODING": "chunked",
        "wsgi.input": stream or io.BytesIO(body),
        **extra,
    }
    if terminated is not None:
        environ["wsgi.input_terminated"] = terminated
    dechunked(environ)  # what the WSGI application's wrapper does before Django sees it
    return client.generic("POST", "/orders", content_type="application/json", **environ)


def _nothing_stored() -> None:
    assert Order.objects.count() == 0
    assert stock() == {"SKU-1": 5}


# --- the server did not de-chunk it: 411 ------------------------------------------------------


@pytest.mark.parametrize("terminated", [None, False], ids=["no-flag", "flag-false"])
def test_a_chunked_body_the_server_did_not_dechunk_is_411(
    client_user: APIClient, terminated: bool | None
) -> None:
    # when: what uWSGI's --http-socket hands over (wsgi.input reads nothing)
    response = _chunked(client_user, b"", terminated=terminated)

    # then
    assert_error(response, 411, LENGTH_REQUIRED, "length-required")
    _nothing_stored()


@pytest.mark.parametrize("coding", ["Chunked", "gzip, chunked"])
def test_any_transfer_coding_ending_in_chunked_counts(client_user: APIClient, coding: str) -> None:
    response = _chunked(client_user, b"", terminated=None, HTTP_TRANSFER_ENCODING=coding)

    assert_error(response, 411, LENGTH_REQUIRED, "length-required")
    _nothing_stored()


def test_411_comes_before_authentication() -> None:
    response = _chunked(APIClient(), b"", terminated=None)

    assert_error(response, 411, LENGTH_REQUIRED, "length-required")
    _nothing_stored()


# --- the server de-chunked it (wsgi.input_terminated): read as usual ----------------------------


@pytest.mark.parametrize("trickle", [False, True], ids=["whole", "7-bytes-a-read"])
def test_a_dechunked_terminated_body_is_read(client_user: APIClient, trickle: bool) -> None:
    # given
    body = json.dumps(ORDER).encode()

    # when
    response = _chunked(
        client_user, body, terminated=True, stream=Trickle(body) if trickle else None
    )

    # then: placed, as with a Content-Length
    assert response.status_code == 200, response.content
    assert ORDER_ID.fullmatch(json_body(response)["order_id"])
    assert stock() == {"SKU-1": 3}


def test_a_dechunked_terminated_body_over_64_kib_is_413(client_user: APIClient) -> None:
    # given: a valid order padded past the limit, and more behind it that is never read
    head = json.dumps({**ORDER, "pad": ""})
    body = json.dumps({**ORDER, "pad": "x" * (LIMIT + 1 - len(head))}).encode()
    stream = io.BytesIO(body + b" " * LIMIT)

    # when
    response = _chunked(client_user, body, terminated=True, stream=stream)

    # then: refused after reading at most one byte over the limit
    assert_error(response, 413, TOO_LARGE, "request-too-large")
    assert stream.tell() <= LIMIT + 1
    _nothing_stored()


# --- no chunked body: unaffected ----------------------------------------------------------------


def test_a_body_with_content_length_is_unaffected(client_user: APIClient) -> None:
    response = client_user.post("/orders", ORDER, format="json")

    assert response.status_code == 200, response.content
    assert stock() == {"SKU-1": 3}


def test_content_length_wins_over_a_chunked_header(client_user: APIClient) -> None:
    # A server in front that de-chunked the body and passed the header on (nginx's uwsgi_pass
    # does): its Content-Length is the body's.
    body = json.dumps(ORDER).encode()

    response = _chunked(client_user, body, terminated=None, CONTENT_LENGTH=str(len(body)))

    assert response.status_code == 200, response.content
    assert stock() == {"SKU-1": 3}


def test_a_bodyless_get_without_transfer_encoding_is_unaffected(client_user: APIClient) -> None:
    response = client_user.get("/orders")

    assert response.status_code == 200, response.content


# --- the WSGI application a server runs applies the wrapper ---------------------------------------


def test_the_wsgi_application_reads_a_dechunked_body(transactional_db: None) -> None:
    # given: the environ a de-chunking server (gunicorn, granian) hands over: no CONTENT_LENGTH
    from orderservice.wsgi import application

    body = json.dumps(ORDER).encode()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/orders",
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/json",
        "HTTP_HOST": "testserver",
        "HTTP_AUTHORIZATION": f"Token {token_issue(username='wsgi-alice')}",
        "HTTP_TRANSFER_ENCODING": "chunked",
        "wsgi.input": io.BytesIO(body),
        "wsgi.input_terminated": True,
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    started: list[str] = []

    def start_response(status: str, headers: object, *exc_info: object) -> Any:
        started.append(status)

    # when
    response = application(environ, start_response)
    try:
        answer = b"".join(response)
    finally:
        response.close()  # type: ignore[attr-defined]  # as a server does: request_finished

    # then: placed, as with a Content-Length
    assert started == ["200 OK"], answer
    assert ORDER_ID.fullmatch(json.loads(answer)["order_id"])
    assert stock() == {"SKU-1": 3}
