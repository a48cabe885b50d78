"""Sandbox admin: the configuration, funds (with the reset action), ledger, books and the price store.

Balances and books are read-only here: they change only through the sandbox's services, which keep
the ledger and the funds invariant. The reset action calls the same service as `manage.py sandbox reset`.
"""
from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from accounts.models import Activity
from accounts.services.activity import log_activity
from core.numbers import NumbersAdminMixin
from sandbox.models import (
    DailyPnL,
    FundsLedger,
    LastPrice,
    SandboxConfig,
    SandboxFunds,
    SandboxHolding,
    SandboxOrder,
    SandboxPosition,
    SandboxTrade,
)
from sandbox.services.reset import reset_user


class ReadOnlyMixin:
    """Rows written by the engine: visible and searchable, never edited by hand."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(SandboxConfig)
class SandboxConfigAdmin(NumbersAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "starting_capital", "equity_mis_leverage", "futures_leverage", "slippage_bps",
                    "partial_fills", "reset_enabled", "updated_at"]
    fieldsets = [
        ("Capital", {"fields": ["starting_capital"]}),
        ("Leverage", {"fields": ["equity_mis_leverage", "equity_cnc_leverage", "futures_leverage",
                                 "option_buy_leverage", "option_sell_leverage"]}),
        ("MIS square-off (IST)", {"fields": ["squareoff_nse", "squareoff_cds", "squareoff_mcx", "squareoff_ncdex"]}),
        ("Fills", {"fields": ["slippage_bps", "partial_fills"]}),
        ("Weekly reset", {"fields": ["reset_enabled", "reset_weekday", "reset_time"]}),
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not SandboxConfig.objects.exists()

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        """One row: a list of one would be a detour, so the list opens the row (or the form to add it)."""
        config = SandboxConfig.objects.only("pk").first()
        if config is None:
            return redirect("admin:sandbox_sandboxconfig_add")
        return redirect("admin:sandbox_sandboxconfig_change", config.pk)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(SandboxFunds)
class SandboxFundsAdmin(NumbersAdminMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["user", "starting_capital", "available", "used_margin", "realized_pnl", "today_realized_pnl",
                    "unrealized_pnl", "last_reset_at", "updated_at"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__email"]
    list_filter = ["last_reset_at"]
    actions = ["reset_sandboxes"]

    @admin.action(description="Reset the selected users' sandboxes to the starting capital")
    def reset_sandboxes(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = 0
        for funds in queryset.select_related("user"):
            reset_user(funds.user_id)
            log_activity(Activity.USER_CHANGED, user=funds.user, actor=request.user, request=request,
                         change="sandbox reset")
            count += 1
        self.message_user(request, f"Reset {count} sandbox(es).", messages.SUCCESS)


@admin.register(FundsLedger)
class FundsLedgerAdmin(NumbersAdminMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "created_at", "user", "kind", "amount", "available_after", "used_margin_after",
                    "realized_after", "order", "note"]
    list_filter = ["kind", "created_at"]
    search_fields = ["user__username", "order__order_id", "note"]
    list_select_related = ["user", "order"]
    raw_id_fields = ["order", "position", "holding"]
    show_full_result_count = False
    date_hierarchy = "created_at"


class TradeInline(NumbersAdminMixin, admin.TabularInline):
    model = SandboxTrade
    extra = 0
    can_delete = False
    fields = ["trade_id", "quantity", "price", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(SandboxOrder)
class SandboxOrderAdmin(NumbersAdminMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["order_id", "created_at", "user", "exchange", "symbol", "action", "quantity", "price_type",
                    "product", "price", "trigger_price", "status", "filled_quantity", "average_price",
                    "margin_blocked"]
    list_filter = ["status", "product", "price_type", "action", "exchange"]
    search_fields = ["order_id", "symbol", "user__username", "strategy"]
    list_select_related = ["user"]
    show_full_result_count = False
    date_hierarchy = "created_at"
    inlines = [TradeInline]


@admin.register(SandboxTrade)
class SandboxTradeAdmin(NumbersAdminMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["trade_id", "created_at", "user", "exchange", "symbol", "action", "product", "quantity", "price",
                    "order"]
    list_filter = ["action", "product", "exchange"]
    search_fields = ["trade_id", "order__order_id", "symbol", "user__username"]
    list_select_related = ["user", "order"]
    show_full_result_count = False
    date_hierarchy = "created_at"


@admin.register(SandboxPosition)
class SandboxPositionAdmin(NumbersAdminMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["user", "exchange", "symbol", "product", "quantity", "average_price", "realized_pnl",
                    "margin_blocked", "last_fill_at"]
    list_filter = ["product", "exchange"]
    search_fields = ["symbol", "user__username"]
    list_select_related = ["user"]
    show_full_result_count = False


@admin.register(SandboxHolding)
class SandboxHoldingAdmin(NumbersAdminMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["user", "exchange", "symbol", "quantity", "average_price", "margin_blocked", "settled_on"]
    list_filter = ["exchange", "settled_on"]
    search_fields = ["symbol", "user__username"]
    list_select_related = ["user"]


@admin.register(DailyPnL)
class DailyPnLAdmin(NumbersAdminMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["date", "user", "realized_pnl", "unrealized_pnl", "total_pnl", "available", "used_margin",
                    "portfolio_value"]
    list_filter = ["date"]
    search_fields = ["user__username"]
    list_select_related = ["user"]
    show_full_result_count = False
    date_hierarchy = "date"


@admin.register(LastPrice)
class LastPriceAdmin(NumbersAdminMixin, ReadOnlyMixin, admin.ModelAdmin):
    """Prices are written with `manage.py prices set` (it matches orders too), not edited here."""

    list_display = ["exchange", "symbol", "ltp", "bid", "ask", "open", "high", "low", "prev_close", "volume",
                    "source", "updated_at"]
    list_filter = ["exchange", "source"]
    search_fields = ["symbol"]
    show_full_result_count = False
