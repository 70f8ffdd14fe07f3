"""One JSON log line per request, and X-Request-ID: accepted when sane, else generated; echoed
in the response and carried by every log line written while the request is served."""

import contextlib
import io
import json
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
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


# --- the line written straight to the console handler -----------------------------------------


@contextlib.contextmanager
def console_alone() -> Iterator[tuple[logging.StreamHandler, io.StringIO]]:
    """The production LOGGING's console handler alone on the root logger (pytest's own, which
    it adds once the fixtures are set up, set aside), writing to a buffer."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    try:
        yield handler, stream
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def _request_lines_in(stream: io.StringIO) -> list[dict[str, Any]]:
    return _request_lines([json.loads(line) for line in stream.getvalue().splitlines()])


def test_the_line_written_straight_is_the_line_logging_writes(client_user):
    # given
    ProductFactory(product_id="SKU-1")
    with console_alone() as (handler, stream):
        assert request_log._straight_handler() is handler

        # when: a request written straight, then the same one the record's way (a filter that
        # keeps every record turns the straight way off)
        assert client_user.get("/products/SKU-1", HTTP_X_REQUEST_ID="same").status_code == 200
        request_logger = logging.getLogger("orderservice.request")
        keep_all = logging.Filter()
        request_logger.addFilter(keep_all)
        try:
            assert request_log._straight_handler() is None
            assert client_user.get("/products/SKU-1", HTTP_X_REQUEST_ID="same").status_code == 200
        finally:
            request_logger.removeFilter(keep_all)

    # then: the same fields in the same order, the same values but for the time and duration
    straight, generic = _request_lines_in(stream)
    assert list(straight) == list(generic)
    varying = {"time", "duration_ms"}
    assert {k: v for k, v in straight.items() if k not in varying} == {
        k: v for k, v in generic.items() if k not in varying
    }
    assert straight["user"] == generic["user"] is not None
    assert straight["request_id"] == "same"
    for line in (straight, generic):
        assert isinstance(line["duration_ms"], float)
        assert datetime.fromisoformat(line["time"]).utcoffset() == timedelta(0)


def _second_handler(handler: logging.Handler) -> Callable[[], None]:
    other = logging.NullHandler()
    logging.getLogger().addHandler(other)
    return lambda: logging.getLogger().removeHandler(other)


def _handler_on_the_request_logger(handler: logging.Handler) -> Callable[[], None]:
    other = logging.NullHandler()
    logging.getLogger("orderservice.request").addHandler(other)
    return lambda: logging.getLogger("orderservice.request").removeHandler(other)


def _text_format(handler: logging.Handler) -> Callable[[], None]:
    formatter = handler.formatter
    handler.setFormatter(logging.Formatter("%(message)s"))
    return lambda: handler.setFormatter(formatter)


def _warnings_only(handler: logging.Handler) -> Callable[[], None]:
    handler.setLevel(logging.WARNING)
    return lambda: handler.setLevel(logging.NOTSET)


def _another_filter(handler: logging.Handler) -> Callable[[], None]:
    extra = logging.Filter()
    handler.addFilter(extra)
    return lambda: handler.removeFilter(extra)


def _no_request_id_filter(handler: logging.Handler) -> Callable[[], None]:
    [stamp] = handler.filters
    handler.removeFilter(stamp)
    return lambda: handler.addFilter(stamp)


def _a_filter_on_the_logger(handler: logging.Handler) -> Callable[[], None]:
    extra = logging.Filter()
    logging.getLogger("orderservice.request").addFilter(extra)
    return lambda: logging.getLogger("orderservice.request").removeFilter(extra)


@pytest.mark.parametrize(
    "change",
    [
        _second_handler,
        _handler_on_the_request_logger,
        _text_format,
        _warnings_only,
        _another_filter,
        _no_request_id_filter,
        _a_filter_on_the_logger,
    ],
)
def test_any_other_logging_configuration_takes_the_records_way(change):
    with console_alone() as (handler, _stream):
        undo = change(handler)
        try:
            assert request_log._straight_handler() is None
        finally:
            undo()
        assert request_log._straight_handler() is handler


def test_a_failed_write_ends_in_the_handlers_handle_error(client, monkeypatch):
    with console_alone() as (handler, stream):
        # given: a stream that cannot be written
        stream.close()
        failures: list[logging.LogRecord] = []
        monkeypatch.setattr(handler, "handleError", failures.append)

        # when
        response = client.get("/healthz", HTTP_X_REQUEST_ID="unwritten")

    # then: answered; the line's record went to handleError, as logging would have sent it
    assert response.status_code == 200
    assert [(record.name, record.getMessage()) for record in failures] == [
        ("orderservice.request", "GET /healthz 200")
    ]
