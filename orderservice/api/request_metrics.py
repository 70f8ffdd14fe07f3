"""Request metrics for GET /metrics: one middleware in place of django-prometheus's pair.

django-prometheus's PrometheusBeforeMiddleware and PrometheusAfterMiddleware update about a dozen
series per request (bodies, charsets, transports, the same counts three ways). This records the
ones a dashboard needs, under django-prometheus's own names and buckets:

- `django_http_responses_total_by_status_view_method_total{status, view, method}`: requests
  counted by outcome (sum over `view` and `method` for the count by status);
- `django_http_requests_latency_seconds_by_view_method{view, method}`: the latency histogram;
- `django_http_exceptions_total_by_type_total{type}`: exceptions that reached the middleware.

It is the innermost middleware, where PrometheusAfterMiddleware was: the latency is the time from
URL resolution to the view's answer, and it sees exceptions before the JSON error middleware turns
them into 500s. Answers given by outer middlewares before any view (413 for an oversized body, the
HTTPS redirect) are not counted here; the request log has them.

Cost: two metric updates per request (three writes to the multiprocess files), about 36k
instructions, 1.5% of a GET of one product (`make bench-layers`); each (status, view, method)
has its series looked up once.
"""

import time
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django_prometheus.conf import NAMESPACE, PROMETHEUS_LATENCY_BUCKETS
from django_prometheus.middleware import Metrics
from prometheus_client import Counter, Histogram

UNNAMED_VIEW = "<unnamed view>"
INVALID_METHOD = "<invalid method>"
# Anything else is one label value, so a client cannot create series at will.
_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)


class RequestMetrics(Metrics):
    """The three of django-prometheus's request metrics kept, registered once per process.

    Only these are registered, so /metrics shows no series that never move.
    """

    _instance = None  # not Metrics._instance: that one would register every metric

    def register(self) -> None:
        self.responses_by_status_view_method = self.register_metric(
            Counter,
            "django_http_responses_total_by_status_view_method",
            "Count of responses by status, view, method.",
            ["status", "view", "method"],
            namespace=NAMESPACE,
        )
        self.requests_latency_by_view_method = self.register_metric(
            Histogram,
            "django_http_requests_latency_seconds_by_view_method",
            "Histogram of request processing time labelled by view.",
            ["view", "method"],
            buckets=PROMETHEUS_LATENCY_BUCKETS,
            namespace=NAMESPACE,
        )
        self.exceptions_by_type = self.register_metric(
            Counter,
            "django_http_exceptions_total_by_type",
            "Count of exceptions by object type.",
            ["type"],
            namespace=NAMESPACE,
        )


class RequestMetricsMiddleware:
    """Innermost middleware: counts each answer by status, view and method, and times it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        metrics = RequestMetrics.get_instance()
        self._responses = metrics.responses_by_status_view_method
        self._latency = metrics.requests_latency_by_view_method
        self._exceptions = metrics.exceptions_by_type
        # (status, view, method) -> (response counter, latency histogram) of that series.
        self._series: dict[tuple[int, str, str], tuple[Any, Any]] = {}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        start = time.perf_counter()
        response = self.get_response(request)
        duration = time.perf_counter() - start
        method = request.method or ""
        if method not in _METHODS:
            method = INVALID_METHOD
        match = request.resolver_match
        view = (match.view_name if match is not None else None) or UNNAMED_VIEW
        key = (response.status_code, view, method)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = (
                self._responses.labels(status=str(response.status_code), view=view, method=method),
                self._latency.labels(view=view, method=method),
            )
        series[0].inc()
        series[1].observe(duration)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        self._exceptions.labels(type=type(exception).__name__).inc()
