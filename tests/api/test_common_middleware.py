"""orderservice.api.middleware.CommonMiddleware answers as Django's CommonMiddleware does, with
this service's settings: the same Host refused, the same Content-Length; Host verdicts kept
only until a setting changes."""

import pytest
from django.core.exceptions import DisallowedHost, ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.middleware.common import CommonMiddleware as DjangoCommonMiddleware
from django.test import RequestFactory, override_settings

from orderservice.api.middleware import CommonMiddleware

HOSTS = [
    {"HTTP_HOST": "127.0.0.1"},
    {"HTTP_HOST": "localhost:8000"},
    {"HTTP_HOST": "LOCALHOST"},
    {"HTTP_HOST": "[::1]:80"},
    {"HTTP_HOST": "evil.example"},
    {"HTTP_HOST": "127.0.0.1.evil.example"},
    {"HTTP_HOST": "bad host"},
    {"HTTP_HOST": ""},
    {},  # no Host: SERVER_NAME and SERVER_PORT
    {"SERVER_NAME": "evil.example"},
    {"HTTP_HOST": "127.0.0.1", "HTTP_X_FORWARDED_HOST": "evil.example"},
    {"HTTP_HOST": "evil.example", "HTTP_X_FORWARDED_HOST": "127.0.0.1"},
]
SETTINGS = [
    {"ALLOWED_HOSTS": ["127.0.0.1", "localhost"]},
    {"ALLOWED_HOSTS": ["127.0.0.1", "localhost"], "USE_X_FORWARDED_HOST": True},
    {"ALLOWED_HOSTS": [".example"]},
    {"ALLOWED_HOSTS": ["*"]},
    {"ALLOWED_HOSTS": [], "DEBUG": True},
    {"ALLOWED_HOSTS": ["testserver"]},
]
RESPONSES = {
    "plain": lambda: HttpResponse(b'{"a": 1}', content_type="application/json"),
    "with its length": lambda: HttpResponse(b"abc", headers={"Content-Length": "3"}),
    "empty 404": lambda: HttpResponse(status=404),
    "streaming": lambda: StreamingHttpResponse(iter([b"a", b"b"])),
}


def _answer(middleware_class, meta, make_response):
    request = RequestFactory().get("/products/SKU-1", **meta)
    if "HTTP_HOST" not in meta:
        request.META.pop("HTTP_HOST", None)

    def view(request: HttpRequest) -> HttpResponse:
        return make_response()

    try:
        response = middleware_class(view)(request)
    except DisallowedHost as exc:
        return ("DisallowedHost", str(exc))
    return (response.status_code, sorted(response.items()))


@pytest.mark.parametrize("settings_", SETTINGS, ids=lambda s: repr(s))
@pytest.mark.parametrize("response", RESPONSES)
def test_the_same_answer_as_djangos(settings_, response):
    with override_settings(**settings_):
        for meta in HOSTS:
            expected = _answer(DjangoCommonMiddleware, meta, RESPONSES[response])
            # twice: the second time from the remembered verdict
            assert _answer(CommonMiddleware, meta, RESPONSES[response]) == expected, meta
            assert _answer(CommonMiddleware, meta, RESPONSES[response]) == expected, meta


def test_a_host_admitted_once_is_refused_once_allowed_hosts_no_longer_has_it():
    # given: admitted under the first settings
    with override_settings(ALLOWED_HOSTS=["127.0.0.1", "other.example"]):
        assert (
            _answer(CommonMiddleware, {"HTTP_HOST": "other.example"}, RESPONSES["plain"])[0] == 200
        )

    # when, then
    with override_settings(ALLOWED_HOSTS=["127.0.0.1"]):
        refused = _answer(CommonMiddleware, {"HTTP_HOST": "other.example"}, RESPONSES["plain"])
        assert refused[0] == "DisallowedHost"


@pytest.mark.parametrize(
    "setting", [{"APPEND_SLASH": True}, {"PREPEND_WWW": True}, {"DISALLOWED_USER_AGENTS": ["x"]}]
)
def test_the_settings_it_does_not_handle_stop_the_server(setting):
    with override_settings(**setting), pytest.raises(ImproperlyConfigured):
        CommonMiddleware(lambda request: HttpResponse())
