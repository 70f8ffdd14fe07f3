"""The shop operator's products page: search, a stock filter, and stock changes made through the
inventory services (the same row lock as the API), never by saving a stale form over the row."""

from typing import Any

from django import forms
from django.contrib import admin
from django.core.validators import MinValueValidator, RegexValidator
from django.db.models import QuerySet
from django.http import HttpRequest

from orderservice.api.admin import ServiceWritesAdmin
from orderservice.inventory import services
from orderservice.inventory.models import Product

LOW_STOCK = 10
MAX_STOCK = 1_000_000_000


class StockLevelFilter(admin.SimpleListFilter):
    title = "stock level"
    parameter_name = "stock"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("out", "Out of stock"),
            ("low", f"Low (1 to {LOW_STOCK})"),
            ("ok", f"More than {LOW_STOCK}"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Product]) -> QuerySet[Product]:
        if self.value() == "out":
            return queryset.filter(product_count=0)
        if self.value() == "low":
            return queryset.filter(product_count__gte=1, product_count__lte=LOW_STOCK)
        if self.value() == "ok":
            return queryset.filter(product_count__gt=LOW_STOCK)
        return queryset


class ProductForm(forms.ModelForm):
    restock = forms.IntegerField(
        min_value=1,
        max_value=MAX_STOCK,
        required=False,
        help_text="Units to add to the stock; safe while orders are being placed.",
    )
    set_stock = forms.IntegerField(
        min_value=0,
        max_value=MAX_STOCK,
        required=False,
        label="Set stock to",
        help_text="Replace the stock level (after a stock-take). Leave empty to keep it.",
    )

    class Meta:
        model = Product
        fields = ["product_id", "name", "product_count"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "product_id" in self.fields:
            self.fields["product_id"].validators.append(
                RegexValidator(r"^[A-Za-z0-9._-]{1,64}\Z", "1 to 64 of A-Z a-z 0-9 . _ -")
            )
        if "product_count" in self.fields:
            self.fields["product_count"].validators.append(MinValueValidator(0))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("restock") is not None and cleaned.get("set_stock") is not None:
            raise forms.ValidationError("Either restock or set the stock level, not both.")
        return cleaned


@admin.register(Product)
class ProductAdmin(ServiceWritesAdmin):
    form = ProductForm
    list_display = ("product_id", "name", "product_count", "updated_at")
    list_display_links = ("product_id", "name")
    search_fields = ("product_id", "name")
    list_filter = (StockLevelFilter,)
    ordering = ("product_id",)
    list_per_page = 50

    def get_fields(self, request: HttpRequest, obj: Product | None = None) -> tuple[str, ...]:
        if obj is None:
            return ("product_id", "name", "product_count")
        return ("product_id", "name", "product_count", "restock", "set_stock", "updated_at")

    def get_readonly_fields(
        self, request: HttpRequest, obj: Product | None = None
    ) -> tuple[str, ...]:
        # On an existing product the count is shown, never posted back: a form loaded a minute
        # ago would otherwise overwrite what orders took since.
        return () if obj is None else ("product_id", "product_count", "updated_at")

    def has_delete_permission(self, request: HttpRequest, obj: Product | None = None) -> bool:
        return False  # orders refer to products; set the stock to 0 instead

    def save_model(self, request: HttpRequest, obj: Product, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if not change:
            created = services.product_create(
                product_id=data["product_id"],
                name=data["name"],
                product_count=data["product_count"],
            )
            obj.created_at, obj.updated_at = created.created_at, created.updated_at
            return
        product = None
        if "name" in form.changed_data or data.get("set_stock") is not None:
            product = services.product_update(
                product_id=obj.pk, name=data["name"], product_count=data.get("set_stock")
            )
        if data.get("restock"):
            product = services.product_restock(product_id=obj.pk, amount=data["restock"])
        if product is not None:
            obj.product_count = product.product_count
