"""Webhook endpoints and their recent deliveries in the admin: read-only, except enabling or
disabling an endpoint and retrying a delivery, both through the services (as the API does)."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from orderservice.api.admin import ServiceWritesAdmin
from orderservice.common.exceptions import NotFound
from orderservice.events import services
from orderservice.events.models import Delivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ServiceWritesAdmin):
    list_display = ("webhook_id", "url", "events", "enabled", "failing_since", "created_at")
    list_filter = ("enabled",)
    search_fields = ("webhook_id", "url", "description")
    fields = (
        "webhook_id", "url", "events", "description", "enabled", "failing_since", "created_at",
        "updated_at",
    )  # fmt: skip
    readonly_fields = tuple(name for name in fields if name != "enabled")
    actions = ("enable", "disable")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # POST /webhooks: the only answer that shows the secret

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if "enabled" in form.changed_data:
            services.webhook_update(webhook_id=obj.pk, enabled=form.cleaned_data["enabled"])

    def _set_enabled(self, request: HttpRequest, queryset: QuerySet[Any], enabled: bool) -> None:
        for webhook_id in queryset.values_list("webhook_id", flat=True):
            services.webhook_update(webhook_id=webhook_id, enabled=enabled)
        state = "enabled" if enabled else "disabled"
        self.message_user(request, f"{queryset.count()} endpoint(s) {state}.", messages.SUCCESS)

    @admin.action(description="Enable selected endpoints", permissions=["change"])
    def enable(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._set_enabled(request, queryset, True)

    @admin.action(description="Disable selected endpoints", permissions=["change"])
    def disable(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._set_enabled(request, queryset, False)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("delivery_id", "endpoint", "event", "status", "tries", "next_attempt_at",
                    "created_at")  # fmt: skip
    list_filter = ("status", "created_at")
    list_select_related = ("endpoint", "event")
    search_fields = ("delivery_id", "endpoint__webhook_id", "event__event_id")
    fields = ("delivery_id", "endpoint", "event", "status", "next_attempt_at", "attempts",
              "created_at")  # fmt: skip
    readonly_fields = fields
    actions = ("retry",)
    list_per_page = 50

    @admin.display(description="attempts")
    def tries(self, delivery: Delivery) -> int:
        return len(delivery.attempts)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # read-only; the retry action asks for `change` on the endpoints

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("events.change_webhookendpoint")

    @admin.action(description="Retry selected deliveries now", permissions=["retry"])
    def retry(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        retried = 0
        for delivery_id, webhook_id in queryset.values_list("delivery_id", "endpoint_id"):
            try:
                services.delivery_retry(webhook_id=webhook_id, delivery_id=delivery_id)
                retried += 1
            except NotFound:
                pass  # deleted meanwhile
        self.message_user(request, f"{retried} delivery(ies) queued again.", messages.SUCCESS)
