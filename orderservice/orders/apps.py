from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orderservice.orders"
    label = "orders"
    verbose_name = "Orders"
