"""The fast path (orderservice/api/fastpath.py) answers as the DRF view it stands in for.

Each request is sent twice, once with the fast path on and once with it off (`FAST_PATH`), and
the two answers must have the same status, headers and body (order ids, which differ between two
placed orders, aside). A spy on DRF's dispatch tells which path answered: plain requests must not
reach DRF (else the comparison would be of DRF with itself), the others must.
"""

import io
import json
import re
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.test import RequestFactory, override_settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.test import APIClient

from orderservice.api import fastpath, throttling
from orderservice.inventory import services as inventory
from orderservice.orders.apis import OrderListApi
from orderservice.tokens.services import token_issue

pytestmark = pytest.mark.django_db

EXAMPLES = hypothesis_settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ORDER_ID = re.compile(r"ord_[0-9a-f]{24}")


@pytest.fixture(autouse=True)
def _world(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    throttling.local_counts_clear()
    monkeypatch.setattr(throttling.FixedWindowThrottle, "timer", staticmethod(lambda: 6_000_030.0))
    inventory.product_create(
        product_id="SKU-1", name="One", product_count=10**6, price=Decimal("2.50"), actor="t"
    )
    inventory.product_create(
        product_id="SKU-2", name="Two", product_count=10**6, price=Decimal("0.99"), actor="t"
    )
    inventory.product_create(product_id="SKU-0", name="None left", product_count=0, actor="t")
    yield
    throttling.local_counts_clear()


def _answer(response: Any) -> tuple[int, dict[str, str], Any]:
    headers = {k: v for k, v in response.items() if k.lower() != "x-request-id"}
    body = response.content.decode()
    # Two placed orders differ by their id only: compare the rest.
    headers = {k: ORDER_ID.sub("ord_x", v) for k, v in headers.items()}
    return response.status_code, headers, ORDER_ID.sub("ord_x", body)


def _both(send: Callable[[], Any], dispatches: list[str]) -> tuple[Any, bool]:
    """The answer with the fast path and without; and whether the fast path answered."""
    before = len(dispatches)
    fast = _answer(send())
    took_fast_path = len(dispatches) == before
    before = len(dispatches)
    with override_settings(FAST_PATH=False):
        drf = _answer(send())
    assert len(dispatches) == before + 1  # DRF answered this one
    assert fast == drf
    return fast, took_fast_path


def _client(authorization: str | None, **extra: str) -> APIClient:
    client = APIClient()
    if authorization is not None:
        client.credentials(HTTP_AUTHORIZATION=authorization, **extra)
    elif extra:
        client.credentials(**extra)
    return client


@pytest.fixture
def key() -> str:
    return token_issue(username="alice")


AUTHORIZATIONS = st.sampled_from(
    ["Token {key}", "Bearer {key}", "token {key}", None, "Token", "Token nope", "Basic eDp5"]
)
ACCEPTS = st.sampled_from([None, "*/*", "application/json", "text/html", "application/xml"])
QUERIES = st.sampled_from(["", "?x=1", "?format=json"])


@EXAMPLES
@given(
    authorization=AUTHORIZATIONS,
    accept=ACCEPTS,
    query=QUERIES,
    product_id=st.sampled_from(["SKU-1", "SKU-0", "SKU-404", "bad%20id", "x" * 65]),
    method=st.sampled_from(["get", "head"]),
)
def test_get_product_answers_as_drf(
    key: str,
    dispatches: list[str],
    authorization: str | None,
    accept: str | None,
    query: str,
    product_id: str,
    method: str,
) -> None:
    # given
    extra = {"HTTP_ACCEPT": accept} if accept else {}
    client = _client(authorization and authorization.format(key=key), **extra)

    # when
    _, fast = _both(lambda: getattr(client, method)(f"/products/{product_id}{query}"), dispatches)

    # then
    plain = (
        method == "get" and authorization in ("Token {key}", "Bearer {key}", "token {key}")
        and accept in (None, "*/*", "application/json") and not query
    )  # fmt: skip
    assert fast == plain


@EXAMPLES
@given(
    authorization=AUTHORIZATIONS,
    accept=ACCEPTS,
    query=QUERIES,
    mine=st.booleans(),
    garbled=st.booleans(),
)
def test_get_order_answers_as_drf(
    key: str,
    dispatches: list[str],
    authorization: str | None,
    accept: str | None,
    query: str,
    mine: bool,
    garbled: bool,
) -> None:
    # given: an order of alice's or of someone else's, or an id that is no order id
    owner = key if mine else token_issue(username=f"u{uuid.uuid4().hex[:8]}")
    placed = _client(f"Token {owner}").post(
        "/orders", {"products": [{"product_id": "SKU-1", "item_count": 1}]}, format="json"
    )
    order_id = placed.json()["order_id"] + ("-" if garbled else "")
    extra = {"HTTP_ACCEPT": accept} if accept else {}
    client = _client(authorization and authorization.format(key=key), **extra)

    # when
    _, fast = _both(lambda: client.get(f"/orders/{order_id}{query}"), dispatches)

    # then
    plain = (
        authorization in ("Token {key}", "Bearer {key}", "token {key}")
        and accept in (None, "*/*", "application/json") and not query
    )  # fmt: skip
    assert fast == plain


LINES = st.lists(
    st.fixed_dictionaries(
        {
            "product_id": st.sampled_from(["SKU-1", "SKU-2", "SKU-0", "SKU-404", "", 7]),
            "item_count": st.sampled_from([1, 2, 0, -1, 10**7, "1", 1.0, True]),
        }
    ),
    min_size=0,
    max_size=3,
)
BODIES: st.SearchStrategy[Any] = st.one_of(
    st.fixed_dictionaries(
        {"products": LINES},
        optional={"fulfillment": st.sampled_from(["partial", "all_or_nothing", "some", None])},
    ),
    st.sampled_from([[], None, "x", {}, {"products": [], "extra": 1}]),
)


@EXAMPLES
@given(
    authorization=AUTHORIZATIONS,
    body=BODIES,
    raw=st.sampled_from([None, b"", b"{", b'{"products": NaN}', b"[[[[", b"\xff"]),
    content_type=st.sampled_from(
        ["application/json", "application/json; charset=utf-8", "text/plain"]
    ),
    keyed=st.booleans(),
)
def test_place_order_answers_as_drf(
    key: str,
    dispatches: list[str],
    authorization: str | None,
    body: Any,
    raw: bytes | None,
    content_type: str,
    keyed: bool,
) -> None:
    # given
    extra = {"HTTP_IDEMPOTENCY_KEY": uuid.uuid4().hex} if keyed else {}
    client = _client(authorization and authorization.format(key=key), **extra)
    data = json.dumps(body).encode() if raw is None else raw

    # when: (a keyed request sent twice is replayed: the second answer has Idempotent-Replayed)
    if keyed:
        before = len(dispatches)
        client.post("/orders", data, content_type=content_type)
        assert len(dispatches) == before + 1  # keyed: always DRF's
        return
    _, fast = _both(lambda: client.post("/orders", data, content_type=content_type), dispatches)

    # then: whenever the fast path answered, the request was one it should answer
    if fast:
        assert authorization in ("Token {key}", "Bearer {key}", "token {key}")
        assert content_type == "application/json"
        assert raw is None


def test_a_plain_order_is_placed_on_the_fast_path(key: str, dispatches: list[str]) -> None:
    # given
    client = _client(f"Token {key}")
    body = {"products": [{"product_id": "SKU-1", "item_count": 2}], "fulfillment": "partial"}

    # when
    (status, headers, text), fast = _both(
        lambda: client.post("/orders", body, format="json"), dispatches
    )

    # then
    assert fast
    assert status == 200
    assert headers["Location"] == "/orders/ord_x"
    assert headers["ETag"] == '"1"'
    assert headers["Allow"] == "GET, POST, HEAD, OPTIONS"
    assert json.loads(text)["total"] == "5.00"


def test_an_out_of_stock_order_is_answered_as_drf(key: str, dispatches: list[str]) -> None:
    client = _client(f"Token {key}")
    body = {"products": [{"product_id": "SKU-0", "item_count": 1}], "fulfillment": "all_or_nothing"}

    (status, headers, _), fast = _both(
        lambda: client.post("/orders", body, format="json"), dispatches
    )

    assert fast
    assert status == 404
    assert headers["Allow"] == "GET, POST, HEAD, OPTIONS"


def _rates(user: str | None = None, ip: str | None = None) -> Any:
    return override_settings(
        REST_FRAMEWORK={
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {"user": user, "ip": ip},
        }
    )


@pytest.mark.parametrize("limit", [{"user": "3/min"}, {"ip": "3/min"}])
def test_each_limit_is_counted_once_and_refused_as_drf(
    key: str, dispatches: list[str], limit: dict[str, str]
) -> None:
    # given
    client = _client(f"Token {key}")

    # when: three allowed, then refused, on the fast path
    with _rates(**limit):
        fast = [_answer(client.get("/products/SKU-1")) for _ in range(4)]
        throttling.local_counts_clear()
        with override_settings(FAST_PATH=False):
            drf = [_answer(client.get("/products/SKU-1")) for _ in range(4)]

    # then
    assert [answer[0] for answer in fast] == [200, 200, 200, 429]
    assert fast == drf
    assert fast[3][1]["Retry-After"] == "30"
    assert len(dispatches) == 4  # only the DRF round


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@given(
    st.one_of(
        JSON_VALUES.map(lambda value: json.dumps(value).encode()),
        JSON_VALUES.map(lambda value: json.dumps(value, ensure_ascii=False).encode()),
        st.binary(max_size=40),
        st.sampled_from([b"NaN", b"[Infinity]", b'{"a": -Infinity}', b'"\\ud800"', b"[[[[[[["]),
    )
)
def test_the_body_is_read_as_drf_reads_it(raw: bytes) -> None:
    # given
    request = RequestFactory().post("/orders", raw, content_type="application/json")

    # when
    fast = fastpath.json_body(OrderListApi(), request)

    # then: what DRF's parser reads; nothing when it refuses the body (DRF answers that one)
    try:
        drf = JSONParser().parse(io.BytesIO(raw), "application/json", {"encoding": "utf-8"})
    except ParseError:
        assert fast is None
        return
    assert fast == drf


@pytest.mark.parametrize("authorization", ["Token nope", None, "Token {key}"])
def test_a_request_handed_to_drf_after_the_ip_count_is_not_counted_again(
    key: str, dispatches: list[str], authorization: str | None
) -> None:
    # given: one request per minute from this address; a request the fast path counts, then
    # hands to DRF (an unknown token, none) or answers itself (a token)
    client = _client(authorization and authorization.format(key=key))

    # when
    with _rates(ip="1/min"):
        fast = [_answer(client.get("/products/SKU-1")) for _ in range(2)]
        throttling.local_counts_clear()
        with override_settings(FAST_PATH=False):
            drf = [_answer(client.get("/products/SKU-1")) for _ in range(2)]

    # then: the first is answered as if counted once (401 or 200), the second refused
    assert [answer[0] for answer in fast] == [200 if authorization == "Token {key}" else 401, 429]
    assert fast == drf
