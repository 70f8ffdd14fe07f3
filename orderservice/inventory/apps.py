from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "orderservice.inventory"
    label = "inventory"
    verbose_name = "Inventory"

    def ready(self) -> None:
        # Its one-statement writes are functions in the database (common/db/stored.py).
        from orderservice.common.db.stored import create_after_migrate
        from orderservice.inventory.services import STORED_STATEMENTS

        create_after_migrate(self, STORED_STATEMENTS)
