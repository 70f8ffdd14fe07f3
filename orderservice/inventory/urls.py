from django.urls import re_path

from orderservice.inventory.apis import ProductDetailApi, ProductListApi

urlpatterns = [
    re_path(r"^products/?$", ProductListApi.as_view(), name="product-list"),
    re_path(
        r"^products/(?P<product_id>[^/]+)/?$", ProductDetailApi.as_view(), name="product-detail"
    ),
]
