"""The base class of the apps' admins whose saves call services."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse


class ServiceWritesAdmin(admin.ModelAdmin):
    """A ModelAdmin whose saves call services: no transaction around the whole POST.

    ModelAdmin wraps a POST in one transaction; the services own theirs instead (lock order, the
    retries of common/db/), as they do for the API.
    """

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        return self._changeform_view(request, object_id, form_url, extra_context)  # type: ignore[attr-defined]
