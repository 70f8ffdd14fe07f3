"""One JSON log line per request, and the X-Request-ID that ties a request's log lines together.

Cost per request: a uuid4 when the client sent no usable id, a perf_counter pair, the response
header and the line: about 40k instructions with the production LOGGING, where the line is
written straight to the console handler (`_straight_handler`), 110k through logging's record
and handler (`make bench-layers` on PostgreSQL; a GET of one product is 1.5M). No database
access: the user is read only when authentication has already loaded it.
"""

import logging
import os
import re
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from types import FrameType

from django.core.signals import request_finished
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject, empty

from orderservice.common.logging import JsonFormatter, RequestIdFilter, json_line, request_id_var

logger = logging.getLogger("orderservice.request")

REQUEST_ID_HEADER = "X-Request-ID"
# Ids from tracing systems (UUIDs, ULIDs, W3C trace ids) fit; anything else is replaced, so a
# client cannot inject newlines, quotes or megabytes into every log line of its request.
_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


def request_id_from(header: str | None) -> str:
    """The client's id when it is sane (1-128 of A-Z a-z 0-9 . _ : -), else a new one."""
    if header and _REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def _username(request: HttpRequest) -> str | None:
    # DRF stores the authenticated user on the Django request. A session user not loaded yet
    # (a lazy object never evaluated) is left alone: loading it would cost a query.
    user = request.__dict__.get("user")
    if user is None or (
        isinstance(user, SimpleLazyObject) and user._wrapped is empty  # type: ignore[attr-defined]
    ):
        return None
    if not getattr(user, "is_authenticated", False):
        return None
    return str(user.get_username())


class RequestLogMiddleware:
    """Outermost middleware: sets the request id for the request's log lines, logs the outcome."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_from(request.META.get("HTTP_X_REQUEST_ID"))
        # Kept after this returns, until the response is closed (below): Django logs an error
        # answer ("Internal Server Error: /path", django.request) only once the whole middleware
        # chain has returned, and that line belongs to the request too. It also marks the thread
        # as serving a request, for the retry budget (common/db/statements.serving_request).
        request_id_var.set(request_id)
        start = time.perf_counter()
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        if logger.isEnabledFor(logging.INFO):
            duration_ms = round((time.perf_counter() - start) * 1000, 2)
            _log_request(request, response.status_code, duration_ms)
        return response


def _log_request(request: HttpRequest, status: int, duration_ms: float) -> None:
    """The request line: straight to the console handler when that is what logging would do
    with the record, else the record itself through logging (`_log_record`)."""
    handler = _straight_handler()
    if handler is None:
        _log_record(request, status, duration_ms, sys._getframe(1))
        return
    method, path = request.method, request.path
    line = {
        "level": logging.getLevelName(logging.INFO),
        "logger": logger.name,
        "pid": os.getpid() if logging.logProcesses else None,
        "message": "%s %s %s" % (method, path, status),  # noqa: UP031  (record.getMessage())
        "method": method,
        "path": path,
        "status": status,
        "duration_ms": duration_ms,
        "user": _username(request),
        "request_id": request_id_var.get(),  # what RequestIdFilter stamps on the record
        "time": datetime.fromtimestamp(time.time(), UTC),  # record.created
    }
    handler.acquire()
    try:
        stream = handler.stream
        stream.write(json_line(line) + handler.terminator)
        stream.flush()  # as StreamHandler.emit does (its flush() would take the lock again)
    except Exception:
        # The record's way, which ends in the handler's own handleError (logging.raiseExceptions).
        _log_record(request, status, duration_ms, sys._getframe(1))
    finally:
        handler.release()


def _straight_handler() -> logging.StreamHandler | None:
    """The handler the request line goes to, when writing the line straight to its stream is
    all that logging would do with the record: else None.

    That is the production LOGGING (settings.py): the only handler on the way up from this
    logger a StreamHandler, exactly, for INFO, with the JsonFormatter and RequestIdFilter alone,
    and no filter on the loggers. Logging's generic path for a record costs about 70k
    instructions more (the LogRecord, the walk to the handlers, their locks and filters, the
    formatter's search for extra fields): 4.4% of a GET of one product, 2.9% of a placed order
    (`make bench-layers` on PostgreSQL). Checked on each request, so that any other
    configuration (a second handler, as pytest's; LOG_FORMAT=text; a filter) takes the
    generic path at once. tests/ops/test_request_log.py compares the two lines.
    """
    found = None
    current: logging.Logger | None = logger
    while current is not None:
        if current.filters or current.disabled:
            return None
        for handler in current.handlers:
            if found is not None:
                return None
            found = handler
        if not current.propagate:
            break
        current = current.parent
    if (
        type(found) is not logging.StreamHandler
        or type(found.formatter) is not JsonFormatter
        or found.level > logging.INFO
        or len(found.filters) != 1
        or type(found.filters[0]) is not RequestIdFilter
    ):
        return None
    return found


def _log_record(request: HttpRequest, status: int, duration_ms: float, caller: FrameType) -> None:
    """The record `logger.info("%s %s %s", method, path, status, extra={...})` would log.

    Built with the logger's own makeRecord and handed to its handlers (`Logger.handle`, the
    public way in for a record made elsewhere), without the two generic steps of `info()` that
    cost here and give nothing: the walk up the stack to find the caller (the middleware's
    frame, passed in) and the check of every `extra` key against the record (these five never
    clash). That spares 25k instructions a request (1% of a GET of one product, `make
    bench-layers`); tests/ops/test_request_log.py compares the record with the one `info()`
    makes.
    """
    record = logger.makeRecord(
        logger.name,
        logging.INFO,
        caller.f_code.co_filename,
        caller.f_lineno,
        "%s %s %s",
        (request.method, request.path, status),
        None,
        caller.f_code.co_name,
    )
    fields = record.__dict__
    fields["method"] = request.method
    fields["path"] = request.path
    fields["status"] = status
    fields["duration_ms"] = duration_ms
    fields["user"] = _username(request)
    logger.handle(record)


@receiver(request_finished, dispatch_uid="orderservice.api.request_log.forget_request_id")
def _forget_request_id(**kwargs: object) -> None:
    """The response is closed (sent): lines logged from now on belong to no request."""
    request_id_var.set(None)
