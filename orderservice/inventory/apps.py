from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "orderservice.inventory"
    label = "inventory"
    verbose_name = "Inventory"
