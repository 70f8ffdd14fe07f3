"""A request body sent with `Transfer-Encoding: chunked` and no Content-Length.

Django (and DRF) read CONTENT_LENGTH bytes of `wsgi.input`: without a Content-Length they see no
body at all, and `POST /orders` would answer a misleading 400 (`products` required). Two cases:

- The server de-chunked the body and says the input ends with it (`wsgi.input_terminated`, as
  gunicorn and granian set): `with_dechunked_bodies`, around the WSGI application, reads it
  (at most one byte over MAX_REQUEST_BODY_BYTES, so that an oversized one still gets the 413)
  and hands it on with its Content-Length, before Django builds the request.
- It did not: uWSGI's `--http-socket` passes the chunks on unread and has no option to de-chunk
  them (docs/production.md, "Chunked request bodies"). JsonErrorMiddleware answers 411 when
  `length_required` says so, nothing read or stored. nginx in front de-chunks, so only a client
  sending straight to an app server gets that.
"""

import io
from collections.abc import Iterable
from typing import Any
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from django.conf import settings


def _chunked_without_length(environ: dict[str, Any]) -> bool:
    if environ.get("CONTENT_LENGTH"):
        return False  # a server in front that de-chunked it and kept the header (nginx)
    codings = environ.get("HTTP_TRANSFER_ENCODING", "").lower().split(",")
    return "chunked" in (coding.strip() for coding in codings)


def length_required(environ: dict[str, Any]) -> bool:
    """A chunked body that the server did not de-chunk: the app cannot read it (411)."""
    return _chunked_without_length(environ) and not environ.get("wsgi.input_terminated")


def dechunked(environ: dict[str, Any]) -> None:
    """A de-chunked body with no Content-Length: read it, and give it one (in `environ`)."""
    if not _chunked_without_length(environ) or not environ.get("wsgi.input_terminated"):
        return
    stream, wanted, body = environ["wsgi.input"], settings.MAX_REQUEST_BODY_BYTES + 1, b""
    while len(body) < wanted and (part := stream.read(wanted - len(body))):
        body += part
    environ["CONTENT_LENGTH"] = str(len(body))
    environ["wsgi.input"] = io.BytesIO(body)


def with_dechunked_bodies(app: WSGIApplication) -> WSGIApplication:
    """`app`, handed de-chunked bodies with their Content-Length (see the module)."""

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        dechunked(environ)
        return app(environ, start_response)

    return application
