from django.urls import re_path

from orderservice.orders.apis import OrderDetailApi, OrderListApi

urlpatterns = [
    re_path(r"^orders/?$", OrderListApi.as_view(), name="order-list"),
    re_path(r"^orders/(?P<order_id>[^/]+)/?$", OrderDetailApi.as_view(), name="order-detail"),
]
