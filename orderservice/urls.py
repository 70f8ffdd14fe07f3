"""Root URL configuration: the API at the root, the admin under /admin/."""

from django.contrib import admin
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe
from django_prometheus.exports import ExportToDjangoView

from orderservice.api import health

urlpatterns = [
    path("", include("orderservice.orders.urls")),
    path("", include("orderservice.inventory.urls")),
    path("", include("orderservice.events.urls")),
    path("admin/", admin.site.urls),
    # Prometheus text format, no authentication (SPEC §9); summed over gunicorn workers.
    # GET only; CSRF exempt so that other methods get a JSON 405, not CSRF's HTML 403.
    re_path(r"^metrics/?$", csrf_exempt(require_safe(ExportToDjangoView)), name="metrics"),
    # Liveness (no database) and readiness (the database answers), no authentication (SPEC §8).
    re_path(r"^healthz/?$", health.healthz, name="healthz"),
    re_path(r"^readyz/?$", health.readyz, name="readyz"),
    path("", include("orderservice.api.docs")),  # /schema, /docs, /docs/errors
]

handler400 = "orderservice.api.views.bad_request"
handler404 = "orderservice.api.views.not_found"
handler500 = "orderservice.api.views.server_error"
