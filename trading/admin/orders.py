"""Admin of the books and the action center.

Order state is read-only here: orders are placed, cancelled and approved only through the pipeline's
services (the actions below call them), so the admin cannot bypass validation or risk checks.
The order, trade and event tables grow large: no full counts, related rows fetched in the same query.
"""
from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from trading.models import (
    OPEN_STATUSES,
    Holding,
    Order,
    OrderEvent,
    OrderStatus,
    PendingOrder,
    PendingStatus,
    Position,
    PositionHistory,
    Trade,
)
from trading.services import pending as action_center
from trading.services import pipeline, reconcile
from trading.services.errors import TradingError


class ReadOnlyMixin:
    """Rows written by the pipeline only: viewable, never added or edited by hand."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class OrderEventInline(ReadOnlyMixin, admin.TabularInline):
    model = OrderEvent
    fields = ["created_at", "level", "message", "data"]
    readonly_fields = fields
    extra = 0
    can_delete = False


class TradeInline(ReadOnlyMixin, admin.TabularInline):
    model = Trade
    fields = ["traded_at", "quantity", "price", "broker_trade_id"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Order)
class OrderAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["placed_at", "user", "account", "symbol", "exchange", "action", "quantity", "price_type",
                    "price", "status", "filled_quantity", "average_price", "broker_order_id", "is_analyze", "source",
                    "overhead_ms", "broker_ms"]
    list_filter = ["status", "kind", "is_analyze", "source", "exchange", "product", "price_type", "placed_at"]
    search_fields = ["=broker_order_id", "=client_order_id", "^symbol", "user__username", "strategy", "account__name"]
    list_select_related = ["user", "account"]
    show_full_result_count = False
    date_hierarchy = "placed_at"
    autocomplete_fields = ["user", "account"]
    inlines = [OrderEventInline, TradeInline]
    actions = ["cancel_orders", "reconcile_orders"]

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        # Viewing orders is not enough to cancel them: it takes the change permission.
        return request.user.has_perm("trading.change_order")

    @admin.action(description="Cancel the selected open orders (at their broker)", permissions=["cancel"])
    def cancel_orders(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        done, failed = 0, []
        for order in queryset.filter(status__in=OPEN_STATUSES).exclude(broker_order_id="").select_related("user"):
            try:
                pipeline.cancel(order.user, order.broker_order_id)
                done += 1
            except TradingError as exc:
                failed.append(f"{order.broker_order_id}: {exc.message}")
        self.message_user(request, f"Cancelled {done} order(s).", messages.SUCCESS)
        if failed:
            self.message_user(request, "Not cancelled: " + "; ".join(failed[:10]), messages.WARNING)

    @admin.action(description="Check orders awaiting confirmation against their broker's order book",
                  permissions=["cancel"])
    def reconcile_orders(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        # The same service as the schedule: every waiting order of the selected orders' accounts is settled.
        accounts = set(queryset.filter(status=OrderStatus.UNKNOWN, account__isnull=False)
                       .values_list("account_id", flat=True))
        summary = reconcile.Summary()
        for account_id in sorted(accounts):
            summary.add(reconcile.reconcile_account(account_id))
        self.message_user(request, f"Reconciled {summary}.", messages.SUCCESS if accounts else messages.INFO)


@admin.register(Trade)
class TradeAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["traded_at", "user", "account", "symbol", "exchange", "action", "product", "quantity", "price"]
    list_filter = ["exchange", "action", "product", "traded_at"]
    search_fields = ["^symbol", "user__username", "=broker_trade_id", "=order__broker_order_id"]
    list_select_related = ["user", "account"]
    show_full_result_count = False
    date_hierarchy = "traded_at"
    raw_id_fields = ["order"]
    autocomplete_fields = ["user", "account"]


class PositionHistoryInline(ReadOnlyMixin, admin.TabularInline):
    model = PositionHistory
    fields = ["created_at", "event", "quantity", "price", "net_quantity_after", "average_price_after",
              "realized_pnl"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Position)
class PositionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["user", "account", "symbol", "exchange", "product", "net_quantity", "average_price", "ltp",
                    "realized_pnl", "unrealized_pnl", "updated_at"]
    list_filter = ["exchange", "product"]
    search_fields = ["^symbol", "user__username", "account__name"]
    list_select_related = ["user", "account"]
    autocomplete_fields = ["user", "account"]
    inlines = [PositionHistoryInline]


@admin.register(PositionHistory)
class PositionHistoryAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["created_at", "position", "event", "quantity", "price", "net_quantity_after", "realized_pnl"]
    list_filter = ["event", "created_at"]
    search_fields = ["^position__symbol", "position__user__username"]
    list_select_related = ["position"]
    show_full_result_count = False
    raw_id_fields = ["position", "order"]


@admin.register(Holding)
class HoldingAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["user", "account", "symbol", "exchange", "quantity", "average_price", "ltp", "pnl", "updated_at"]
    list_filter = ["exchange"]
    search_fields = ["^symbol", "user__username", "account__name"]
    list_select_related = ["user", "account"]
    autocomplete_fields = ["user", "account"]


@admin.register(OrderEvent)
class OrderEventAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["created_at", "order", "level", "message"]
    list_filter = ["level", "created_at"]
    search_fields = ["=order__broker_order_id", "message"]
    list_select_related = ["order"]
    show_full_result_count = False
    raw_id_fields = ["order"]


@admin.register(PendingOrder)
class PendingOrderAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["created_at", "user", "api_type", "status", "decided_by", "decided_at", "error"]
    list_filter = ["status", "api_type", "created_at"]
    search_fields = ["user__username", "=id"]
    list_select_related = ["user", "decided_by"]
    autocomplete_fields = ["user", "decided_by"]
    actions = ["approve", "reject"]

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # the action center is an audit trail: decide, never delete

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("trading.change_pendingorder")

    @admin.action(description="Approve and place the selected pending orders", permissions=["decide"])
    def approve(self, request: HttpRequest, queryset: QuerySet[PendingOrder]) -> None:
        placed, failed, skipped = 0, [], 0
        for pending in queryset.select_related("user"):
            if pending.status != PendingStatus.PENDING:
                skipped += 1
                continue
            done = action_center.approve_pending(pending, request.user)
            if done.error:
                failed.append(f"#{done.pk}: {done.error}")
            elif done.decided_by_id == request.user.pk:
                placed += 1
        self.message_user(request, f"Approved {placed}; {skipped} were already decided.", messages.SUCCESS)
        if failed:
            self.message_user(request, "Approved but not placed: " + "; ".join(failed[:10]), messages.WARNING)

    @admin.action(description="Reject the selected pending orders", permissions=["decide"])
    def reject(self, request: HttpRequest, queryset: QuerySet[PendingOrder]) -> None:
        count = 0
        for pending in queryset.filter(status=PendingStatus.PENDING):
            if action_center.reject_pending(pending, request.user, f"Rejected by {request.user}.").decided_by_id \
                    == request.user.pk:
                count += 1
        self.message_user(request, f"Rejected {count} pending order(s).", messages.SUCCESS)
