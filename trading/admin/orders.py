"""Admin of the books and the action center.

Order state is read-only here: orders are placed, cancelled and approved only through the pipeline's
services (the actions below call them), so the admin cannot bypass validation or risk checks.
The order, trade and event tables grow large: no full counts, related rows fetched in the same query.
"""
from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from brokers.models import Exchange
from core.bigtables import BigTableAdminMixin
from core.numbers import NumbersAdminMixin
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


def _price(leg: dict[str, str]) -> str:
    price = leg["price"]
    return f"{leg['price_type']} {price}" if price and price not in ("0", "0.0", "0.00") else leg["price_type"]


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


class TradeInline(NumbersAdminMixin, ReadOnlyMixin, admin.TabularInline):
    model = Trade
    fields = ["traded_at", "quantity", "price", "broker_trade_id"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Order)
class OrderAdmin(BigTableAdminMixin, NumbersAdminMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["placed_at", "user", "account", "symbol", "exchange", "action", "quantity", "price_type",
                    "price", "status", "filled_quantity", "average_price", "broker_order_id", "is_analyze", "source",
                    "overhead_ms", "broker_ms"]
    list_filter = ["status", "kind", "is_analyze", "source", "exchange", "product", "price_type", "placed_at"]
    search_fields = ["=broker_order_id", "=client_order_id", "^symbol", "user__username", "strategy", "account__name"]
    list_select_related = ["user", "account"]
    # No date_hierarchy: its links are a SELECT DISTINCT over every order of the period (1.4 s over
    # 1,000,000 orders); the placed_at filter serves today, the past 7 days and this month from an index.
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
class TradeAdmin(BigTableAdminMixin, NumbersAdminMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["traded_at", "user", "account", "symbol", "exchange", "action", "product", "quantity", "price"]
    list_filter = ["exchange", "action", "product", "traded_at"]
    search_fields = ["^symbol", "user__username", "=broker_trade_id", "=order__broker_order_id"]
    list_select_related = ["user", "account"]
    raw_id_fields = ["order"]
    autocomplete_fields = ["user", "account"]


class PositionHistoryInline(NumbersAdminMixin, ReadOnlyMixin, admin.TabularInline):
    model = PositionHistory
    fields = ["created_at", "event", "quantity", "price", "net_quantity_after", "average_price_after",
              "realized_pnl"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Position)
class PositionAdmin(NumbersAdminMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["user", "account", "symbol", "exchange", "product", "net_quantity", "average_price", "ltp",
                    "realized_pnl", "unrealized_pnl", "updated_at"]
    list_filter = ["exchange", "product"]
    search_fields = ["^symbol", "user__username", "account__name"]
    list_select_related = ["user", "account"]
    autocomplete_fields = ["user", "account"]
    inlines = [PositionHistoryInline]


@admin.register(PositionHistory)
class PositionHistoryAdmin(BigTableAdminMixin, NumbersAdminMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["created_at", "position", "event", "quantity", "price", "net_quantity_after", "realized_pnl"]
    list_filter = ["event", "created_at"]
    search_fields = ["^position__symbol", "position__user__username"]
    list_select_related = ["position"]
    raw_id_fields = ["position", "order"]


@admin.register(Holding)
class HoldingAdmin(NumbersAdminMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["user", "account", "symbol", "exchange", "quantity", "average_price", "ltp", "pnl", "updated_at"]
    list_filter = ["exchange"]
    search_fields = ["^symbol", "user__username", "account__name"]
    list_select_related = ["user", "account"]
    autocomplete_fields = ["user", "account"]


@admin.register(OrderEvent)
class OrderEventAdmin(BigTableAdminMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["created_at", "order", "level", "message"]
    list_filter = ["level", "created_at"]
    search_fields = ["=order__broker_order_id", "message"]
    list_select_related = ["order"]
    raw_id_fields = ["order"]


class PayloadFilter(admin.SimpleListFilter):
    """Filter queued requests by a field of their payload (a basket's legs carry their own)."""

    field = ""

    def lookups(self, request, model_admin):
        return [(value, value) for value in self.values]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(**{f"payload__{self.field}": self.value()})
        return queryset


class SideFilter(PayloadFilter):
    title = "side"
    parameter_name = field = "action"
    values = ["BUY", "SELL"]


class ExchangeFilter(PayloadFilter):
    title = parameter_name = field = "exchange"
    values = [value for value in Exchange.values if not value.endswith("_INDEX")]  # indices are not traded


def _legs_column(name: str, description: str):
    @admin.display(description=description)
    def column(self, obj: PendingOrder) -> str:
        return ", ".join(dict.fromkeys(leg[name] for leg in obj.legs if leg[name])) or "-"

    return column


@admin.register(PendingOrder)
class PendingOrderAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """What operators decide on: each request's symbol, side, quantity, price and strategy, from its payload
    (a basket shows its legs), searchable by any of them."""

    list_display = ["id", "created_at", "user", "api_type", "strategy", "symbol", "side", "quantity", "price",
                    "status", "decided_by"]  # the error and the result are on the detail page
    list_display_links = ["id", "created_at"]
    list_filter = ["status", "api_type", SideFilter, ExchangeFilter, "created_at"]
    # payload: its JSON text, so a symbol or strategy anywhere in it (a basket's legs too) is found.
    search_fields = ["user__username", "=id", "payload"]
    search_help_text = "Search by user, #id, symbol or strategy."
    list_select_related = ["user", "decided_by", "api_key"]
    autocomplete_fields = ["user", "decided_by"]
    fields = ["user", "api_key", "api_type", "status", "legs_table", "created_at", "decided_by", "decided_at",
              "result", "error", "payload"]
    readonly_fields = ["legs_table"]
    actions = ["approve", "reject"]

    strategy = _legs_column("strategy", "strategy")
    symbol = _legs_column("symbol", "symbol")
    side = _legs_column("action", "side")

    @admin.display(description="quantity")
    def quantity(self, obj: PendingOrder) -> str:
        return " + ".join(leg["quantity"] for leg in obj.legs if leg["quantity"]) or "-"

    @admin.display(description="price")
    def price(self, obj: PendingOrder) -> str:
        return ", ".join(_price(leg) for leg in obj.legs) or "-"

    @admin.display(description="orders")
    def legs_table(self, obj: PendingOrder) -> str:
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}:{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((leg["strategy"], leg["action"], leg["exchange"], leg["symbol"], leg["quantity"], _price(leg),
              leg["trigger_price"] or "-", leg["product"], leg["note"]) for leg in obj.legs))
        return format_html(
            "<table><thead><tr><th>strategy</th><th>side</th><th>symbol</th><th>quantity</th><th>price</th>"
            "<th>trigger</th><th>product</th><th></th></tr></thead><tbody>{}</tbody></table>", rows)

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
