"""Products and their stock: the only place stock is stored."""

from django.db import models


class Product(models.Model):
    product_id = models.CharField(primary_key=True, max_length=64)
    name = models.CharField(max_length=200)
    product_count = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

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
