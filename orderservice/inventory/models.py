"""Products and their stock: the only place stock is stored."""

from django.db import models

from orderservice.common import clock


class Product(models.Model):
    product_id = models.CharField(primary_key=True, max_length=64)
    name = models.CharField(max_length=200)
    product_count = models.BigIntegerField(default=0)
    # Written by the services, from clock.now() like every timestamp they write.
    created_at = models.DateTimeField(default=clock.now, editable=False)
    updated_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        ordering = ["product_id"]
        constraints = [
            # The last guard against overselling: whatever the code does, stock never goes below 0.
            models.CheckConstraint(
                condition=models.Q(product_count__gte=0), name="product_count_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} ({self.product_count} in stock)"
