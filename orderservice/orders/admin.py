"""The shop operator's orders page: filter by status and date, items inline (read-only), and
status changes made through order_set_status: the same transition rules, locks and stock return
(cancelled) as the API. Orders are never added, edited line by line or deleted here."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from orderservice.api.admin import ServiceWritesAdmin
from orderservice.orders import services
from orderservice.orders.exceptions import OrderConflict, OrderNotFound
from orderservice.orders.models import Order, OrderItem
from orderservice.orders.status import ALLOWED_TRANSITIONS, OrderStatus, transition_refusal

_FAILED = "_order_admin_failed"


def _staff(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or not user.is_staff:
        raise PermissionDenied
    return user


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    fields = ("product", "item_count", "unit_price")
    readonly_fields = ("product", "item_count", "unit_price")
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Lines are part of the order: whoever may see the order sees them.
        return request.user.has_perm("orders.view_order") or request.user.has_perm(
            "orders.change_order"
        )


class OrderStatusForm(forms.ModelForm):
    """Only the status is editable, and only to the statuses the pipeline allows from here."""

    class Meta:
        model = Order
        fields = ["status"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields.get("status")
        if isinstance(field, forms.ChoiceField) and self.instance.pk:
            current = self.instance.status
            reachable = {current, *ALLOWED_TRANSITIONS[current]}
            field.choices = [
                (value, label) for value, label in OrderStatus.choices if value in reachable
            ]

    def clean_status(self) -> str:
        status = str(self.cleaned_data["status"])
        current = self.instance.status
        if status != current:
            refusal = transition_refusal(current, status)
            if refusal:
                raise forms.ValidationError(refusal)
        return status


@admin.register(Order)
class OrderAdmin(ServiceWritesAdmin):
    form = OrderStatusForm
    list_display = ("id", "user", "status", "items", "created_at", "updated_at")
    list_filter = ("status", "created_at")
    date_hierarchy = "created_at"
    search_fields = ("id", "user__username")
    list_select_related = ("user",)
    fields = ("id", "user", "status", "version", "created_at", "updated_at")
    readonly_fields = ("id", "user", "version", "created_at", "updated_at")
    inlines = (OrderItemInline,)
    actions = ("mark_processing", "mark_shipped", "mark_delivered", "mark_cancelled")
    list_per_page = 50

    def get_queryset(self, request: HttpRequest) -> QuerySet[Order]:
        return super().get_queryset(request).annotate(item_total=Sum("items__item_count"))

    @admin.display(description="items", ordering="item_total")
    def items(self, order: Order) -> int:
        return int(getattr(order, "item_total", 0) or 0)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # orders are placed through the API, which takes the stock

    def has_delete_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False  # cancel instead: that returns the stock

    def save_model(self, request: HttpRequest, obj: Order, form: Any, change: bool) -> None:
        if "status" not in form.changed_data:
            return
        try:
            saved = services.order_set_status(
                order_id=obj.pk, user=_staff(request), status=form.cleaned_data["status"]
            )
        except (OrderConflict, OrderNotFound) as exc:
            # Another request moved the order since the form was shown.
            setattr(request, _FAILED, True)
            self.message_user(request, str(exc) or "Order not found.", messages.ERROR)
            return
        order = saved.order
        obj.status, obj.version, obj.updated_at = order.status, order.version, order.updated_at

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # Items are read-only here: commit=False writes nothing, it only notes "no change" for
        # the admin's history message.
        for formset in formsets:
            formset.save(commit=False)

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        if getattr(request, _FAILED, False):
            return None
        return super().log_change(request, obj, message)

    def response_change(self, request: HttpRequest, obj: Order) -> HttpResponse:
        if getattr(request, _FAILED, False):
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    def _move(self, request: HttpRequest, queryset: QuerySet[Order], status: str) -> None:
        moved, refused = 0, []
        for order_id in queryset.values_list("id", flat=True):
            try:
                services.order_set_status(order_id=order_id, user=_staff(request), status=status)
                moved += 1
            except (OrderConflict, OrderNotFound) as exc:
                refused.append(f"{order_id}: {exc}")
        if moved:
            self.message_user(request, f"{moved} order(s) moved to {status}.", messages.SUCCESS)
        if refused:
            self.message_user(request, "Not moved: " + "; ".join(refused), messages.WARNING)

    @admin.action(description="Move selected orders to processing", permissions=["change"])
    def mark_processing(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._move(request, queryset, OrderStatus.PROCESSING)

    @admin.action(description="Move selected orders to shipped", permissions=["change"])
    def mark_shipped(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._move(request, queryset, OrderStatus.SHIPPED)

    @admin.action(description="Move selected orders to delivered", permissions=["change"])
    def mark_delivered(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._move(request, queryset, OrderStatus.DELIVERED)

    @admin.action(description="Cancel selected orders (stock returned)", permissions=["change"])
    def mark_cancelled(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._move(request, queryset, OrderStatus.CANCELLED)
