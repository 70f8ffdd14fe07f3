"""Read-only admin view of idempotency keys, to answer "what did this retry get?"."""

from django.contrib import admin
from django.http import HttpRequest

from orderservice.idempotency.models import IdempotencyKey


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin):
    list_display = ["key", "user", "response_status", "created_at"]
    list_filter = ["response_status"]
    search_fields = ["key", "user__username"]
    readonly_fields = [field.name for field in IdempotencyKey._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
