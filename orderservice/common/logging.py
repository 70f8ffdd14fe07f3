"""Structured logs: one JSON object per line, each carrying the id of the request being served.

No Django import here: a process without Django settings can use the formatter.
"""

import contextvars
import logging
from datetime import UTC, datetime
from typing import Any

import orjson
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.orjson import orjson_default

# The X-Request-ID of the request this thread (or task) is serving; None outside a request.
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)


class RequestIdFilter(logging.Filter):
    """Stamp every record with the current request id (a handler filter: it sees all records)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class AsWarning(logging.Filter):
    """A logger filter for expected noise logged as an error: one WARNING line, no traceback.

    For django.security.DisallowedHost: every request naming a Host outside ALLOWED_HOSTS (bots,
    scanners) is logged by Django as an ERROR with its traceback (and mailed to ADMINS). The
    client gets a 400, which the request log line shows too.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        record.exc_info, record.exc_text = None, None
        return True


def json_line(fields: dict[Any, Any]) -> str:
    """One log line (without its newline) from its fields, in order: JsonFormatter's output."""
    return orjson.dumps(fields, default=orjson_default, option=orjson.OPT_NON_STR_KEYS).decode()


class JsonFormatter(logging.Formatter):
    """`{"level", "logger", "pid", "message", ...extra, "time"}`; never a Django request object.

    The lines python-json-logger's OrjsonFormatter writes when configured with these fields and
    names (tests/ops/test_log_formatter.py compares the two, record for record), at half the
    cost: its generic walk over every attribute of every record cost about 60k instructions a
    line, 2% of a GET of one product (`make bench-layers`). Here the extra fields (every record
    attribute that is neither a standard LogRecord one nor private, in the record's order) are
    worked out once per shape of record (its attribute names, in order: one per call site).
    """

    _RENAMED = {"levelname": "level", "name": "logger", "process": "pid"}
    # django.request attaches the HttpRequest itself: not serialisable, and it holds headers.
    _NOT_EXTRA = frozenset([*RESERVED_ATTRS, *_RENAMED, "message", "request", "server_time"])
    _MAX_SHAPES = 512  # call sites with their own extras; a bound against records built at will

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # attribute names of a record, in order -> (extra field, its name in the line) pairs
        self._shapes: dict[tuple[Any, ...], tuple[tuple[Any, Any], ...]] = {}

    def format(self, record: logging.LogRecord) -> str:
        attrs = record.__dict__
        msg: Any = record.msg
        logged_dict = isinstance(msg, dict)  # logger.info({...}): its keys are fields
        record.message = "" if logged_dict else record.getMessage()
        line: dict[Any, Any] = {
            "level": attrs.get("levelname"),
            "logger": attrs.get("name"),
            "pid": attrs.get("process"),
            "message": attrs.get("message"),
        }
        if logged_dict or record.exc_info or record.exc_text or record.stack_info:
            self._add_message_fields(line, record, msg.copy() if logged_dict else {})
        shape = tuple(attrs)
        for key, name in self._shapes.get(shape) or self._learn(shape):
            line[name] = attrs[key]
        line["time"] = datetime.fromtimestamp(record.created, UTC)
        return json_line(line)

    def _add_message_fields(
        self, line: dict[Any, Any], record: logging.LogRecord, fields: dict[Any, Any]
    ) -> None:
        """A logged dict's keys, the traceback and the stack, before the extra fields."""
        if record.exc_info and not fields.get("exc_info"):
            fields["exc_info"] = self.formatException(record.exc_info)
        if not fields.get("exc_info") and record.exc_text:
            fields["exc_info"] = record.exc_text
        if record.stack_info and not fields.get("stack_info"):
            fields["stack_info"] = self.formatStack(record.stack_info)
        for key, value in fields.items():
            line[self._RENAMED.get(key, key)] = value

    def _learn(self, shape: tuple[Any, ...]) -> tuple[tuple[Any, Any], ...]:
        """The extra fields of records with these attributes, with their names in the line."""
        found = tuple(
            (key, self._RENAMED.get(key, key))
            for key in shape
            if key not in self._NOT_EXTRA and not (isinstance(key, str) and key.startswith("_"))
        )
        if len(self._shapes) >= self._MAX_SHAPES:
            self._shapes.clear()
        self._shapes[shape] = found
        return found
