from django.urls import re_path

from orderservice.events.apis import (
    DeliveryListApi,
    DeliveryRetryApi,
    EventFeedApi,
    WebhookDetailApi,
    WebhookListApi,
)

urlpatterns = [
    re_path(r"^events/?$", EventFeedApi.as_view(), name="event-feed"),
    re_path(r"^webhooks/?$", WebhookListApi.as_view(), name="webhook-list"),
    re_path(r"^webhooks/(?P<webhook_id>[^/]+)/?$", WebhookDetailApi.as_view(), name="webhook"),
    re_path(
        r"^webhooks/(?P<webhook_id>[^/]+)/deliveries/?$",
        DeliveryListApi.as_view(),
        name="webhook-deliveries",
    ),
    re_path(
        r"^webhooks/(?P<webhook_id>[^/]+)/deliveries/(?P<delivery_id>[^/]+)/retry/?$",
        DeliveryRetryApi.as_view(),
        name="webhook-delivery-retry",
    ),
]
