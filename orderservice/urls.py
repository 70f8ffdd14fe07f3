"""Root URL configuration: the API at the root, the admin under /admin/.

The apps' patterns are spliced into this list rather than `include`d: Django resolves a path by
trying each pattern in order, and an `include` is a resolver of its own, which builds one more
ResolverMatch for a hit and raises (and catches) a Resolver404 for each included list that
misses. Flat, with the hot paths first (orders, then products), `GET /products/{id}` resolves
for 50k instructions fewer (121k -> 71k; `POST /orders` 31k fewer; `make bench-layers`,
PostgreSQL). The paths and their names are the same, so `reverse()` and the OpenAPI schema are
unchanged (GET /schema byte for byte).
"""

from django.contrib import admin
from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe
from django_prometheus.exports import ExportToDjangoView

from orderservice.api import docs, health
from orderservice.events import urls as events_urls
from orderservice.inventory import urls as inventory_urls
from orderservice.orders import urls as orders_urls

urlpatterns = [
    *orders_urls.urlpatterns,
    *inventory_urls.urlpatterns,
    *events_urls.urlpatterns,
    path("admin/", admin.site.urls),
    # Prometheus text format, no authentication (SPEC §9); summed over the server's workers.
    # GET only; CSRF exempt so that other methods get a JSON 405, not CSRF's HTML 403.
    re_path(r"^metrics/?$", csrf_exempt(require_safe(ExportToDjangoView)), name="metrics"),
    # Liveness (no database) and readiness (the database answers), no authentication (SPEC §8).
    re_path(r"^healthz/?$", health.healthz, name="healthz"),
    re_path(r"^readyz/?$", health.readyz, name="readyz"),
    *docs.urlpatterns,  # /schema, /docs, /docs/errors
]

handler400 = "orderservice.api.views.bad_request"
handler404 = "orderservice.api.views.not_found"
handler500 = "orderservice.api.views.server_error"
