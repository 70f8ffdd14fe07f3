"""The plain case of the hot requests, answered without DRF's dispatch: the same answer, cheaper.

`GET /products/{id}`, `GET /orders/{id}` and `POST /orders` are most of the traffic, and nearly
all of them are plain: a token, no query string, JSON or anything accepted, a body the fast
parser takes. For those, DRF's dispatch builds a Request, negotiates, runs its authentication,
permission and throttle stages, wraps the answer in a Response and renders it. Answered here
instead, `GET /products/{id}` costs 1.56 M -> 1.27 M instructions (-19%) and `POST /orders`
2.38 M -> 2.04 M (-14%) (`make bench-layers`, PostgreSQL, `FAST_PATH` off and on).

A view that is a `FastPathApi` answers a plain request itself, in DRF's order, with DRF's own
pieces where they are public (the view's `get_permissions`, `check_throttles`,
`get_exception_handler`, `default_response_headers`, the configured parser and renderer):

1. The view's `fast_method`, no query string, `Accept` absent, `*/*` or the renderer's type
   (what api/negotiation.py answers in advance); else DRF answers.
2. The per-IP limit (IpThrottleAuthentication, DRF's first authentication class). It counts a
   request once: handed to DRF after this, the request is not counted again.
3. A token the token classes accept, an input the view's `plain_input` accepts (nothing written
   yet), every permission granted; else the request is handed to the DRF view, which answers
   (401, 400, ...) as it always did.
4. The view's throttles (DRF's `check_throttles`). Counted: no hand-off from here on.
5. The view's `plain_answer`, rendered by the configured renderer, with DRF's default headers
   (Allow). From step 2 on, an exception is answered as DRF answers it: the EXCEPTION_HANDLER's
   response plus the default headers; one it does not know propagates, as from DRF.

The DRF view class stays the URL's callback class (drf-spectacular reads `cls` from it): the
schema, the docs, and every request that is not plain are DRF's as before. `FAST_PATH = False`
in the settings turns it off. tests/api/test_fastpath.py holds it to the DRF path: the same
status, headers and body over generated requests, each limit counted once, hand-offs included.
"""

import functools
import io
from collections.abc import Mapping
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, RequestDataTooBig
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from rest_framework import exceptions
from rest_framework.views import APIView

from orderservice.api.throttling import IpThrottleAuthentication

# (body data, status, headers of the view's own: ETag, Location)
Answer = tuple[Any, int, Mapping[str, str]]


# An APIView whose plain requests skip DRF's dispatch (see the module). No docstring:
# drf-spectacular would describe every operation of its subclasses with it.
class FastPathApi(APIView):
    fast_method: ClassVar[str] = ""  # "GET" or "POST": the one method served on the fast path

    def plain_input(self, request: HttpRequest, **kwargs: str) -> Any:
        """What `plain_answer` needs, or None: not plain, DRF answers. No side effect here."""
        raise NotImplementedError

    def plain_answer(self, request: HttpRequest, plain: Any) -> Answer:
        """The answer to a plain request, as the DRF method answers it; raises as it raises."""
        raise NotImplementedError

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Any:  # DRF's view function, fast path first
        drf_view = super().as_view(**initkwargs)
        _check_configuration(cls)
        # The default headers are the class's (Allow lists its methods, HEAD once `setup` ran).
        sample = cls(**initkwargs)
        sample.setup(HttpRequest())
        default_headers = sample.default_response_headers
        media_type = cls.renderer_classes[0].media_type
        plain_accept = frozenset({None, "*/*", media_type})

        def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if (
                request.method == cls.fast_method
                and not args
                and not request.META.get("QUERY_STRING")
                and request.META.get("HTTP_ACCEPT") in plain_accept
                and settings.FAST_PATH
            ):
                answered = _plain(cls(**initkwargs), request, kwargs, default_headers)
                if answered is not None:
                    return answered
            return drf_view(request, *args, **kwargs)

        # DRF's attributes (cls, initkwargs, csrf_exempt, view_class) stay on the callback.
        functools.update_wrapper(view, drf_view)
        return view


def _check_configuration(cls: type[FastPathApi]) -> None:
    """The fast path does what DRF does only for the configuration it was written for."""
    if cls.fast_method not in ("GET", "POST") or not hasattr(cls, cls.fast_method.lower()):
        raise ImproperlyConfigured(f"{cls.__name__}: fast_method must name one of its methods")
    # DRF runs the per-IP limit first, then classes that only look credentials up (the token
    # schemes), which the fast path asks in the same order.
    if cls.authentication_classes[:1] != [IpThrottleAuthentication]:
        raise ImproperlyConfigured(f"{cls.__name__}: the fast path expects the per-IP limit first")
    if len(cls.renderer_classes) != 1 or len(cls.parser_classes) != 1:
        # One of each: DRF then negotiates nothing (no Vary: Accept) and parses JSON bodies.
        raise ImproperlyConfigured(
            f"{cls.__name__}: the fast path expects one renderer and one parser"
        )


def _plain(
    view: FastPathApi,
    request: HttpRequest,
    kwargs: dict[str, Any],
    default_headers: Mapping[str, str],
) -> HttpResponseBase | None:
    view.setup(request, **kwargs)
    try:
        # DRF's order. First the per-IP limit (DRF's first authentication class): it counts a
        # request once, so DRF, if the request is handed to it below, does not count it again.
        IpThrottleAuthentication().authenticate(request)
        user = _token_user(view, request)
        if user is None:
            return None  # no token, or one DRF refuses: DRF answers (401)
        plain = view.plain_input(request, **kwargs)
        if plain is None:
            return None
        # As DRF's Request.user setter does: the user on the Django request (the request log
        # reads it).
        request.user = user
        request.auth = None  # type: ignore[attr-defined]
        for permission in view.get_permissions():
            if not permission.has_permission(request, view):  # type: ignore[arg-type]
                return None  # DRF answers the refusal
        # Counted from here, so no hand-off below: the view's throttles (DRF's own check).
        view.check_throttles(request)  # type: ignore[arg-type]
        data, status, headers = view.plain_answer(request, plain)
        renderer = view.renderer_classes[0]()
        response: HttpResponseBase = HttpResponse(
            renderer.render(data), status=status, content_type=renderer.media_type, headers=headers
        )
    except Exception as exc:
        # Answered as DRF's handle_exception answers all but its authentication refusals (which
        # are handed to DRF above): the EXCEPTION_HANDLER's response, or the exception raised.
        handled = view.get_exception_handler()(exc, view.get_exception_handler_context())
        if handled is None:
            raise
        response = handled
        response.exception = True  # type: ignore[attr-defined]  # as DRF marks it
    for name, value in default_headers.items():
        response[name] = value
    return response


def _token_user(view: APIView, request: HttpRequest) -> Any:
    """The user of a token the token classes accept, or None: DRF decides (401).

    A token class's refusal (AuthenticationFailed) is DRF's to answer; anything else it raises
    (the database did not answer the lookup) is raised, and answered as DRF would.
    """
    for token_class in view.authentication_classes[1:]:
        try:
            found = token_class().authenticate(request)  # type: ignore[arg-type]
        except exceptions.APIException:
            return None
        if found is not None:
            return found[0]
    return None


def json_body(view: APIView, request: HttpRequest) -> Any:
    """The JSON body as the view's parser reads it, or None (then DRF reads it, and answers).

    Only with a Content-Type of exactly the parser's media type (what api/negotiation.py picks
    the first parser for). Reading the body through the parser's own `parse` costs ~80k
    instructions more than `json.loads` would, but decoding and reading it here another way
    saved 1.4% of a placed order: under the 2% a shortcut must earn (measured, then dropped).
    """
    parser = view.parser_classes[0]()
    if request.META.get("CONTENT_TYPE") != parser.media_type:
        return None
    try:
        body = io.BytesIO(request.body)
        return parser.parse(body, parser.media_type, {"encoding": settings.DEFAULT_CHARSET})
    except (exceptions.ParseError, RequestDataTooBig):
        # Not JSON; or too large (JsonErrorMiddleware refuses those first): DRF answers.
        return None
