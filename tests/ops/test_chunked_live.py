"""A chunked request body sent straight to the app server (no nginx in front), over a raw socket.

uWSGI's `--http-socket` does not de-chunk request bodies (the app would see none): the app
answers 411 and stores nothing. granian de-chunks and says so (`wsgi.input_terminated`): the
order is placed. With a Content-Length, uWSGI places it (the same request, so the 411 is about the
framing only). tests/api/test_chunked_bodies.py has the decision itself.
"""

import json
import socket

import pytest

from orderservice.inventory.models import Product
from orderservice.orders.models import Order
from tests.live import products_create, user_token

pytestmark = pytest.mark.postgres

ORDER = json.dumps({"products": [{"product_id": "SKU-1", "item_count": 2}]}).encode()


def _post_orders(url: str, token: str, *, chunked: bool) -> tuple[int, dict[str, str], bytes]:
    """POST /orders as raw HTTP/1.1; the status, headers and body of the answer."""
    if chunked:  # the body in two chunks, then the last chunk
        half = len(ORDER) // 2
        framing = b"Transfer-Encoding: chunked\r\n"
        body = b"".join(
            b"%x\r\n%s\r\n" % (len(part), part) for part in (ORDER[:half], ORDER[half:], b"")
        )
    else:
        framing = b"Content-Length: %d\r\n" % len(ORDER)
        body = ORDER
    host, port = url.removeprefix("http://").split(":")
    request = (
        b"POST /orders HTTP/1.1\r\nHost: %s:%s\r\nAuthorization: Token %s\r\n"
        b"Content-Type: application/json\r\nConnection: close\r\n%s\r\n%s"
        % (host.encode(), port.encode(), token.encode(), framing, body)
    )
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, content = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":  # granian may frame its answer so
        content = _dechunk(content)
    return int(status_line.split()[1]), headers, content


def _dechunk(data: bytes) -> bytes:
    out = b""
    while True:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return out
        out, data = out + data[:size], data[size + 2 :]


def test_uwsgi_answers_a_chunked_body_411_and_stores_nothing(live_server_factory):
    # given
    products_create({"SKU-1": 5})
    token = user_token("alice")
    server = live_server_factory(workers=1, server="uwsgi")

    # when
    status, headers, content = _post_orders(server.url, token, chunked=True)

    # then: the §1 error, and no order, no stock taken
    assert status == 411, content
    assert headers["content-type"] == "application/json"
    assert json.loads(content) == {
        "error": "Length required. Send the body with Content-Length.",
        "documentation": f"{server.url}/docs/errors#length-required",
    }
    assert Order.objects.count() == 0
    assert Product.objects.get(product_id="SKU-1").product_count == 5

    # and the same request with a Content-Length is placed
    status, _, content = _post_orders(server.url, token, chunked=False)
    assert status == 200, content
    assert Product.objects.get(product_id="SKU-1").product_count == 3


def test_granian_dechunks_and_the_order_is_placed(live_server_factory):
    # given
    products_create({"SKU-1": 5})
    token = user_token("alice")
    server = live_server_factory(workers=1, server="granian")

    # when
    status, _, content = _post_orders(server.url, token, chunked=True)

    # then
    assert status == 200, content
    assert json.loads(content)["order_id"].startswith("ord_")
    assert Order.objects.count() == 1
    assert Product.objects.get(product_id="SKU-1").product_count == 3
