"""API tokens in the admin: who holds one, since when, until when; delete one to revoke it.

Keys are stored hashed and shown once by `manage.py issue_token`, so none is created here."""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from orderservice.tokens.models import ApiToken
from orderservice.tokens.services import token_cache_clear


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
