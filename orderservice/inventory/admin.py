"""The shop operator's products page: search, a stock-status filter, the latest stock movements,
and stock changes made through the inventory services (the same row lock and ledger as the API),
never by saving a stale form over the row."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from orderservice.api.admin import ServiceWritesAdmin
from orderservice.inventory import services
from orderservice.inventory.exceptions import (
    ProductNotFound,
    StockNotAsExpected,
    StockWouldGoNegative,
)
from orderservice.inventory.models import (
    ADJUSTMENT_REASONS,
    MAX_PRICE,
    MAX_THRESHOLD,
    Product,
    StockMovement,
)
from orderservice.inventory.stock_status import StockStatus, stock_status, stock_status_condition

MAX_STOCK = 1_000_000_000
LATEST_MOVEMENTS = 20
_FAILED = "_product_admin_failed"


class StockStatusFilter(admin.SimpleListFilter):
    title = "stock status"
    parameter_name = "stock"
    _STATUSES = {
        "out": StockStatus.OUT_OF_STOCK,
        "low": StockStatus.LOW_STOCK,
        "ok": StockStatus.IN_STOCK,
    }

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("out", "Out of stock"),
            ("low", "Low (1 to its threshold)"),
            ("ok", "In stock (above its threshold)"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Product]) -> QuerySet[Product]:
        status = self._STATUSES.get(self.value() or "")
        return queryset if status is None else queryset.filter(stock_status_condition(status))


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
        help_text="Replace the stock level (a correction). Leave empty to keep it.",
    )
    adjust_by = forms.IntegerField(
        min_value=-MAX_STOCK,
        max_value=MAX_STOCK,
        required=False,
        label="Adjust stock by",
        help_text="Units added (or taken, when negative) for the reason below.",
    )
    adjust_to = forms.IntegerField(
        min_value=0,
        max_value=MAX_STOCK,
        required=False,
        label="Adjust stock to",
        help_text="A stock-take for the reason below; refused if the stock changed since this "
        "page was loaded.",
    )
    reason = forms.ChoiceField(
        choices=[("", "---------"), *((r.value, r.label) for r in ADJUSTMENT_REASONS)],
        required=False,
        help_text="Why the stock is adjusted (required with an adjustment).",
    )
    note = forms.CharField(max_length=200, required=False, help_text="Kept with the adjustment.")
    # The stock shown when the page was loaded: an "adjust to" applies only over that count.
    counted_from = forms.IntegerField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = Product
        fields = ["product_id", "name", "product_count", "price", "low_stock_threshold"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "product_id" in self.fields:
            self.fields["product_id"].validators.append(
                RegexValidator(r"^[A-Za-z0-9._-]{1,64}\Z", "1 to 64 of A-Z a-z 0-9 . _ -")
            )
        if "product_count" in self.fields:
            self.fields["product_count"].validators.append(MinValueValidator(0))
        self.fields["price"].validators += [MinValueValidator(0), MaxValueValidator(MAX_PRICE)]
        self.fields["low_stock_threshold"].validators += [
            MinValueValidator(0),
            MaxValueValidator(MAX_THRESHOLD),
        ]
        for name in ("price", "low_stock_threshold"):
            self.fields[name].required = False  # left empty: the default, or unchanged
        if self.instance.pk:
            self.fields["counted_from"].initial = self.instance.product_count

    def clean_price(self) -> Any:
        return _or_current(self, "price")

    def clean_low_stock_threshold(self) -> Any:
        return _or_current(self, "low_stock_threshold")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        changes = [
            name
            for name in ("restock", "set_stock", "adjust_by", "adjust_to")
            if cleaned.get(name) is not None
        ]
        if len(changes) > 1:
            raise forms.ValidationError(
                "Change the stock one way at a time: restock, set it, or adjust it; not both."
            )
        adjusting = bool(changes) and changes[0] in ("adjust_by", "adjust_to")
        if cleaned.get("adjust_by") == 0:
            self.add_error("adjust_by", "Adjust by a number of units other than 0.")
        if adjusting and not cleaned.get("reason"):
            self.add_error("reason", "Give the reason of the adjustment.")
        if not adjusting and (cleaned.get("reason") or cleaned.get("note")):
            self.add_error("reason", "A reason and a note go with an adjustment (by or to).")
        return cleaned


def _or_current(form: forms.ModelForm, name: str) -> Any:
    value = form.cleaned_data.get(name)
    return getattr(form.instance, name) if value is None and form.instance.pk else value


@admin.register(Product)
class ProductAdmin(ServiceWritesAdmin):
    form = ProductForm
    list_display = (
        "product_id",
        "name",
        "product_count",
        "status",
        "price",
        "unfilled_units",
        "updated_at",
    )
    list_display_links = ("product_id", "name")
    search_fields = ("product_id", "name")
    list_filter = (StockStatusFilter,)
    ordering = ("product_id",)
    list_per_page = 50

    def get_fields(self, request: HttpRequest, obj: Product | None = None) -> tuple[str, ...]:
        if obj is None:
            return ("product_id", "name", "product_count", "price", "low_stock_threshold")
        return (
            "product_id",
            "name",
            "price",
            "low_stock_threshold",
            "product_count",
            "status",
            "unfilled_units",
            "restock",
            "set_stock",
            "adjust_by",
            "adjust_to",
            "reason",
            "note",
            "counted_from",
            "latest_movements",
            "updated_at",
        )

    def get_readonly_fields(
        self, request: HttpRequest, obj: Product | None = None
    ) -> tuple[str, ...]:
        # On an existing product the count is shown, never posted back: a form loaded a minute
        # ago would otherwise overwrite what orders took since.
        if obj is None:
            return ()
        return (
            "product_id",
            "product_count",
            "status",
            "unfilled_units",
            "latest_movements",
            "updated_at",
        )

    @admin.display(description="stock status")
    def status(self, product: Product) -> str:
        return stock_status(product.product_count, product.low_stock_threshold).label

    @admin.display(description=f"latest movements (newest first, up to {LATEST_MOVEMENTS})")
    def latest_movements(self, product: Product) -> SafeString:
        movements = StockMovement.objects.filter(product_id=product.pk).order_by("-id")
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
            "<td>{}</td><td>{}</td></tr>",
            (
                (
                    m.movement_id,
                    m.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                    f"{m.delta:+d}",
                    m.count_after,
                    m.get_reason_display(),
                    m.order_id or "",
                    m.actor or "system",
                    m.note or "",
                )
                for m in movements[:LATEST_MOVEMENTS]
            ),
        )
        if not rows:
            return format_html("{}", "No movements yet.")
        return format_html(
            "<table><thead><tr><th>movement</th><th>when (UTC)</th><th>delta</th>"
            "<th>count after</th><th>reason</th><th>order</th><th>by</th><th>note</th></tr>"
            "</thead><tbody>{}</tbody></table>",
            rows,
        )

    def has_delete_permission(self, request: HttpRequest, obj: Product | None = None) -> bool:
        return False  # orders and movements refer to products; set the stock to 0 instead

    def save_model(self, request: HttpRequest, obj: Product, form: Any, change: bool) -> None:
        data = form.cleaned_data
        actor = request.user.get_username()
        if not change:
            created = services.product_create(
                product_id=data["product_id"],
                name=data["name"],
                product_count=data["product_count"],
                price=data["price"],
                low_stock_threshold=data["low_stock_threshold"],
                actor=actor,
            )
            obj.created_at, obj.updated_at = created.created_at, created.updated_at
            return
        try:
            product = self._change(obj, form, actor)
        except (StockNotAsExpected, StockWouldGoNegative, ProductNotFound) as exc:
            setattr(request, _FAILED, True)
            message = str(exc) or "Product not found."
            if isinstance(exc, StockNotAsExpected | StockWouldGoNegative):
                message = f"{message} The stock is now {exc.product_count}."
            self.message_user(request, message, messages.ERROR)
            return
        if product is not None:
            obj.product_count = product.product_count

    def _change(self, obj: Product, form: Any, actor: str) -> Product | None:
        # The adjustment first: when it is refused, nothing else on the form is saved either.
        data = form.cleaned_data
        product = None
        if data.get("adjust_by") is not None or data.get("adjust_to") is not None:
            stock_take = data.get("adjust_to") is not None
            product = services.product_adjust(
                product_id=obj.pk,
                delta=data.get("adjust_by"),
                set_to=data.get("adjust_to"),
                expected_count=data.get("counted_from") if stock_take else None,
                reason=data["reason"],
                note=data.get("note") or None,
                actor=actor,
            ).product
        edited = {"name", "price", "low_stock_threshold"} & set(form.changed_data)
        if edited or data.get("set_stock") is not None:
            product = services.product_update(
                product_id=obj.pk,
                name=data["name"],
                price=data["price"],
                low_stock_threshold=data["low_stock_threshold"],
                product_count=data.get("set_stock"),
                actor=actor,
            )
        if data.get("restock"):
            product = services.product_restock(
                product_id=obj.pk, amount=data["restock"], actor=actor
            )
        return product

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        if getattr(request, _FAILED, False):
            return None
        return super().log_change(request, obj, message)

    def response_change(self, request: HttpRequest, obj: Product) -> HttpResponse:
        if getattr(request, _FAILED, False):
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)


@admin.register(StockMovement)
class StockMovementAdmin(admin.ModelAdmin):
    """The whole ledger, read-only: movements are written only with the changes they record."""

    list_display = (
        "id",
        "product",
        "delta",
        "count_after",
        "reason",
        "order_id",
        "actor",
        "note",
        "created_at",
    )
    list_filter = ("reason", "created_at")
    search_fields = ("product__product_id", "order_id", "actor")
    list_select_related = ("product",)
    ordering = ("-id",)
    list_per_page = 100

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
