"""The JSON body of a product, for the views and the OpenAPI examples alike."""

from orderservice.inventory.models import Product


def product_body(product: Product) -> dict[str, object]:
    return {
        "product_id": product.product_id,
        "name": product.name,
        "product_count": product.product_count,
    }
