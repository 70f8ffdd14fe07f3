from django.urls import re_path

from orderservice.inventory.apis import (
    ProductAdjustmentApi,
    ProductDetailApi,
    ProductListApi,
    ProductMovementListApi,
)

urlpatterns = [
    re_path(r"^products/?$", ProductListApi.as_view(), name="product-list"),
    re_path(
        r"^products/(?P<product_id>[^/]+)/?$", ProductDetailApi.as_view(), name="product-detail"
    ),
    re_path(
        r"^products/(?P<product_id>[^/]+)/movements/?$",
        ProductMovementListApi.as_view(),
        name="product-movements",
    ),
    re_path(
        r"^products/(?P<product_id>[^/]+)/adjustments/?$",
        ProductAdjustmentApi.as_view(),
        name="product-adjustments",
    ),
]
