"""API tokens in the admin: who holds one, since when, until when; delete one to revoke it.

Keys are stored hashed and shown once by `manage.py issue_token`, so none is created here."""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from orderservice.api.models import ApiToken
from orderservice.api.tokens import token_cache_clear


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


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "created_at", "expires_at")
    list_filter = ("created_at", "expires_at")
    search_fields = ("prefix", "user__username")
    list_select_related = ("user",)
    fields = ("prefix", "user", "created_at", "expires_at")
    readonly_fields = ("prefix", "user", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        super().delete_model(request, obj)
        token_cache_clear()

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        super().delete_queryset(request, queryset)
        token_cache_clear()
