"""One JSON log line per request, and X-Request-ID: accepted when sane, else generated; echoed
in the response and carried by every log line written while the request is served."""

import io
import json
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from orderservice.api import request_log
from orderservice.api.request_log import request_id_from
from orderservice.common.logging import JsonFormatter, RequestIdFilter
from orderservice.inventory import selectors
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """read() -> the JSON lines written so far through the production formatter and filter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def _request_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line.get("logger") == "orderservice.request"]


def test_client_request_id_is_echoed_and_in_the_request_line(client_user, log_lines):
    # given
    ProductFactory(product_id="SKU-1")

    # when
    response = client_user.get("/products/SKU-1", HTTP_X_REQUEST_ID="req-42.a:b_c")

    # then
    assert response.status_code == 200
    assert response["X-Request-ID"] == "req-42.a:b_c"
    [line] = _request_lines(log_lines())
    assert line["method"] == "GET"
    assert line["path"] == "/products/SKU-1"
    assert line["status"] == 200
    assert line["user"] == "alice"
    assert line["request_id"] == "req-42.a:b_c"
    assert isinstance(line["duration_ms"], float)
    assert line["duration_ms"] >= 0
    assert line["level"] == "INFO"
    assert "time" in line


def test_every_log_line_of_a_request_carries_its_id(client_user, log_lines, monkeypatch):
    # given: the view logs on its own while it serves the request
    ProductFactory(product_id="SKU-1")
    real_get = selectors.product_get

    def logging_get(**kwargs):
        logging.getLogger("orderservice.inventory").warning("looking up %s", kwargs)
        return real_get(**kwargs)

    monkeypatch.setattr(selectors, "product_get", logging_get)

    # when
    client_user.get("/products/SKU-1", HTTP_X_REQUEST_ID="first")
    client_user.get("/products/SKU-1", HTTP_X_REQUEST_ID="second")

    # then
    by_id: dict[str, list[str]] = {}
    for line in log_lines():
        by_id.setdefault(line["request_id"], []).append(line["logger"])
    assert by_id == {
        "first": ["orderservice.inventory", "orderservice.request"],
        "second": ["orderservice.inventory", "orderservice.request"],
    }


def test_no_request_id_outside_a_request(log_lines, client_user):
    client_user.get("/products")
    logging.getLogger("orderservice.test").warning("after the request")

    assert log_lines()[-1]["request_id"] is None


@pytest.mark.parametrize(
    "sent",
    [None, "", "has space", "new\nline", 'quo"te', "x" * 129, "-leading-dash", "é"],
)
def test_missing_or_insane_request_id_is_replaced_by_a_generated_one(client, log_lines, sent):
    # when
    headers = {} if sent is None else {"HTTP_X_REQUEST_ID": sent}
    response = client.get("/products", **headers)

    # then: unauthenticated, still logged and tagged
    assert response.status_code == 401
    request_id = response["X-Request-ID"]
    assert GENERATED.fullmatch(request_id)
    [line] = _request_lines(log_lines())
    assert line["request_id"] == request_id
    assert line["status"] == 401
    assert line["user"] is None


def test_generated_ids_differ_per_request(client):
    ids = {client.get("/products")["X-Request-ID"] for _ in range(5)}
    assert len(ids) == 5


def test_generated_ids_are_random_uuids():
    ids = [request_id_from(None) for _ in range(2000)]  # no usable id sent: a new one

    assert len(set(ids)) == len(ids)
    for request_id in ids:
        parsed = uuid.UUID(request_id)
        assert (parsed.hex, parsed.version, parsed.variant) == (request_id, 4, uuid.RFC_4122)
    # every one of the 122 random bits varies
    ones = [sum(uuid.UUID(i).int >> bit & 1 for i in ids) for bit in range(128)]
    fixed = {bit for bit, count in enumerate(ones) if count in (0, len(ids))}
    assert fixed == {62, 63, 76, 77, 78, 79}


def test_longest_accepted_id_is_128_characters(client):
    sent = "a" * 128
    assert client.get("/products", HTTP_X_REQUEST_ID=sent)["X-Request-ID"] == sent


def test_unknown_routes_and_metrics_are_logged_too(client, log_lines):
    client.get("/nowhere", HTTP_X_REQUEST_ID="lost")
    client.get("/metrics", HTTP_X_REQUEST_ID="scrape")

    assert [
        (line["path"], line["status"], line["request_id"]) for line in _request_lines(log_lines())
    ] == [
        ("/nowhere", 404, "lost"),
        ("/metrics", 200, "scrape"),
    ]


@override_settings(ROOT_URLCONF="tests.api.crash_urls")
@pytest.mark.parametrize("path", ["/crash/api", "/crash/django"])
def test_every_line_of_a_crashed_request_carries_its_id(client_user, log_lines, path):
    # given: a view that crashes
    client_user.raise_request_exception = False

    # when
    response = client_user.get(path, HTTP_X_REQUEST_ID="crash-1")
    logging.getLogger("orderservice.test").warning("after the request")

    # then: Django's own "Internal Server Error" line too, logged once the middlewares are done
    assert response.status_code == 500
    lines = log_lines()
    assert lines[-1]["request_id"] is None
    by_logger = {line["logger"]: line for line in lines[:-1]}
    assert {"django.request", "orderservice.request"} <= set(by_logger)
    assert {name: line["request_id"] for name, line in by_logger.items()} == dict.fromkeys(
        by_logger, "crash-1"
    )
    assert by_logger["django.request"]["level"] == "ERROR"


def test_a_request_with_a_bad_host_is_one_warning_without_traceback(client, log_lines):
    # when
    response = client.get("/products", HTTP_HOST="evil.example", HTTP_X_REQUEST_ID="bad-host")

    # then: a JSON 400; the security line is a warning, with its id and no traceback
    assert response.status_code == 400
    assert response.json()["error"] == (
        "Invalid request. Please review your request and ensure everything is correct."
    )
    [security] = [line for line in log_lines() if line["logger"].startswith("django.security")]
    assert security["logger"] == "django.security.DisallowedHost"
    assert security["level"] == "WARNING"
    assert "evil.example" in security["message"]
    assert "exc_info" not in security
    assert security["request_id"] == "bad-host"
    assert [(line["status"], line["request_id"]) for line in _request_lines(log_lines())] == [
        (400, "bad-host")
    ]


def test_the_request_record_is_the_one_logger_info_would_make(client_user):
    # given: the records reaching the handlers of orderservice.request
    ProductFactory(product_id="SKU-1")
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    logger = logging.getLogger("orderservice.request")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        # when: a request, then the same line logged the generic way
        client_user.get("/products/SKU-1", HTTP_X_REQUEST_ID="same")
        [served] = records
        fields = ("method", "path", "status", "duration_ms", "user")
        logger.info(
            "%s %s %s",
            "GET",
            "/products/SKU-1",
            200,
            extra={key: served.__dict__[key] for key in fields},
        )
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)

    # then: the same attributes in the same order; only the time and the call site differ (and
    # the request id the console handler's filter stamps: the second line is outside the request)
    [served, generic] = records
    assert list(vars(served)) == list(vars(generic))
    moment = {"created", "msecs", "relativeCreated", "request_id"}
    site = {"pathname", "filename", "module", "lineno", "funcName"}
    assert {k: v for k, v in vars(served).items() if k not in moment | site} == {
        k: v for k, v in vars(generic).items() if k not in moment | site
    }
    # the call site is the middleware's line, as findCaller would have found it
    assert (served.pathname, served.funcName) == (request_log.__file__, "__call__")
    source = Path(request_log.__file__).read_text().splitlines()[served.lineno - 1]
    assert "_log_request(" in source
    assert served.getMessage() == "GET /products/SKU-1 200"
