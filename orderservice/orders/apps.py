from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orderservice.orders"
    label = "orders"
    verbose_name = "Orders"

    def ready(self) -> None:
        # Its one-statement writes are functions in the database (common/db/stored.py).
        from orderservice.common.db.stored import create_after_migrate
        from orderservice.orders.placement import STORED_STATEMENTS

        create_after_migrate(self, STORED_STATEMENTS)
