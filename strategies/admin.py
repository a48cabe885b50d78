"""Strategies admin: strategies (webhook secret write-only), symbol mappings, deployments with their risk
rules, and the records the platform writes (signals, outcomes, logs, risk events, performance), read-only.

Large tables (signals, outcomes, logs) show no full counts and fetch their related rows in one query.
"""
from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from core.numbers import NumbersAdminMixin
from strategies.forms import StrategyForm
from strategies.models import (
    Deployment,
    RiskEvent,
    RiskRule,
    Signal,
    SignalOrder,
    Strategy,
    StrategyLog,
    StrategyPerformance,
    StrategySymbol,
)
from strategies.services import control, exits, squareoff
from trading.admin.orders import ReadOnlyMixin  # rows the platform writes: viewable, never edited
from trading.models import OrderSource
from trading.services.errors import TradingError

MAX_SQUARE_OFFS = 20  # strategies or deployments squared off by one admin action (broker calls in the request)


class StrategySymbolInline(NumbersAdminMixin, admin.TabularInline):
    model = StrategySymbol
    fields = ["exchange", "symbol", "quantity", "product", "price_type"]
    extra = 0


@admin.register(Strategy)
class StrategyAdmin(admin.ModelAdmin):
    form = StrategyForm
    list_display = ["name", "user", "platform", "trading_mode", "exchange", "is_active", "is_house", "is_intraday",
                    "start_time", "end_time", "squareoff_time", "status", "last_run_at", "secret_set"]
    list_filter = ["is_active", "is_house", "platform", "trading_mode", "is_intraday", "status", "exchange"]
    search_fields = ["name", "user__username", "user__email", "=webhook_id"]
    autocomplete_fields = ["user"]
    list_select_related = ["user"]
    readonly_fields = ["webhook_id", "secret_set", "status", "last_run_at", "error_message", "created_at",
                       "updated_at"]
    fieldsets = [
        (None, {"fields": ["user", "name", "description", "platform", "is_active", "is_house", "parameters"]}),
        ("Webhook", {"fields": ["webhook_id", "secret_set", "new_webhook_secret", "clear_webhook_secret"]}),
        ("Trading", {"fields": ["trading_mode", "exchange", "is_intraday", "start_time", "end_time",
                                "squareoff_time", "trading_days", "schedule"]}),
        ("State", {"fields": ["status", "last_run_at", "error_message", "created_at", "updated_at"]}),
    ]
    inlines = [StrategySymbolInline]
    actions = ["square_off"]

    @admin.action(description="Square off: close the positions of every running deployment")
    def square_off(self, request: HttpRequest, queryset: QuerySet) -> None:
        for strategy in queryset[:MAX_SQUARE_OFFS]:
            result = squareoff.square_off(strategy, scheduled=False, source=OrderSource.ADMIN)
            self.message_user(request, f"{strategy.name}: {result}; " + "; ".join(result.failures[:3]),
                              messages.ERROR if result.failures else messages.SUCCESS)

    @admin.display(description="secret", boolean=True)
    def secret_set(self, obj: Strategy) -> bool:
        return obj.has_secret


@admin.register(StrategySymbol)
class StrategySymbolAdmin(NumbersAdminMixin, admin.ModelAdmin):
    list_display = ["strategy", "exchange", "symbol", "quantity", "product", "price_type"]
    list_filter = ["exchange", "product", "price_type"]
    search_fields = ["^symbol", "strategy__name", "strategy__user__username"]
    autocomplete_fields = ["strategy"]
    list_select_related = ["strategy"]


class RiskRuleInline(NumbersAdminMixin, admin.TabularInline):
    model = RiskRule
    fields = ["rule_type", "threshold", "unit", "is_active", "peak_pnl", "fired_at"]
    readonly_fields = ["peak_pnl", "fired_at"]
    extra = 0


@admin.register(Deployment)
class DeploymentAdmin(NumbersAdminMixin, admin.ModelAdmin):
    list_display = ["strategy", "user", "mode", "account", "status", "quantity_multiplier", "capital_allocated",
                    "max_open_positions", "realized_pnl", "unrealized_pnl", "started_at", "stopped_at"]
    list_filter = ["status", "mode", "strategy__is_house"]
    search_fields = ["strategy__name", "user__username", "user__email", "account__name"]
    autocomplete_fields = ["strategy", "user", "account"]
    list_select_related = ["strategy", "user", "account"]
    # The state moves only through the actions (control's conditional updates), never by editing it.
    readonly_fields = ["status", "started_at", "realized_pnl", "unrealized_pnl", "stopped_at", "created_at",
                       "updated_at"]
    inlines = [RiskRuleInline]
    actions = ["resume", "pause", "stop", "square_off"]

    def _each(self, request: HttpRequest, queryset: QuerySet, change, verb: str) -> None:
        done = 0
        for deployment in queryset.select_related("strategy", "user", "account"):
            try:
                change(deployment, by=f" by {request.user} in the admin")
                done += 1
            except TradingError as exc:
                self.message_user(request, exc.message, messages.WARNING)
        self.message_user(request, f"{done} deployment(s) {verb}.")

    @admin.action(description="Resume (or start again) the selected deployments")
    def resume(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, control.start, "started")

    @admin.action(description="Pause the selected deployments")
    def pause(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, control.pause, "paused")

    @admin.action(description="Stop the selected deployments (positions stay open: square off first)")
    def stop(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, control.stop, "stopped")

    @admin.action(description="Square off: close the selected deployments' positions")
    def square_off(self, request: HttpRequest, queryset: QuerySet) -> None:
        for deployment in queryset.select_related("strategy", "user", "account")[:MAX_SQUARE_OFFS]:
            closing = exits.close_deployment(deployment, source=OrderSource.ADMIN)
            problems = [closing.error] if closing.error else [f"{e.symbol}: {e.error}" for e in closing.exits
                                                               if not e.ok]
            self.message_user(request, f"{deployment}: {len(closing.order_ids)} order(s) placed"
                              + (f"; {'; '.join(problems[:3])}" if problems else "."),
                              messages.ERROR if problems else messages.SUCCESS)


@admin.register(RiskRule)
class RiskRuleAdmin(NumbersAdminMixin, admin.ModelAdmin):
    list_display = ["deployment", "rule_type", "threshold", "unit", "is_active", "peak_pnl", "fired_at"]
    list_filter = ["rule_type", "unit", "is_active"]
    search_fields = ["deployment__strategy__name", "deployment__user__username"]
    autocomplete_fields = ["deployment"]
    list_select_related = ["deployment__strategy", "deployment__user", "deployment__account"]
    readonly_fields = ["peak_pnl", "fired_at"]


@admin.register(RiskEvent)
class RiskEventAdmin(NumbersAdminMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["created_at", "deployment", "rule_type", "threshold", "value_seen", "action", "order_ids"]
    list_filter = ["rule_type", "action", "created_at"]
    search_fields = ["deployment__strategy__name", "deployment__user__username"]
    list_select_related = ["deployment__strategy", "deployment__user", "deployment__account"]
    show_full_result_count = False


class SignalOrderInline(ReadOnlyMixin, admin.TabularInline):
    model = SignalOrder
    fields = ["deployment", "leg", "client_order_id", "status", "order", "message"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Signal)
class SignalAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["received_at", "strategy", "channel", "status", "reason", "deployments", "orders_placed",
                    "orders_failed", "source_ip", "processed_at"]
    list_filter = ["status", "channel", "received_at"]
    search_fields = ["strategy__name", "strategy__user__username", "=idempotency_key", "=source_ip"]
    list_select_related = ["strategy"]
    show_full_result_count = False
    date_hierarchy = "received_at"
    inlines = [SignalOrderInline]


@admin.register(SignalOrder)
class SignalOrderAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["created_at", "signal", "deployment", "leg", "client_order_id", "status", "order", "message"]
    list_filter = ["status", "created_at"]
    search_fields = ["=client_order_id", "deployment__strategy__name", "deployment__user__username"]
    list_select_related = ["signal", "deployment__strategy", "deployment__account", "order"]
    raw_id_fields = ["signal", "deployment", "order"]
    show_full_result_count = False


@admin.register(StrategyLog)
class StrategyLogAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["created_at", "strategy", "level", "message", "deployment", "signal"]
    list_filter = ["level", "created_at"]
    search_fields = ["strategy__name", "message"]
    list_select_related = ["strategy", "deployment__account", "signal"]
    raw_id_fields = ["deployment", "signal"]
    show_full_result_count = False
    date_hierarchy = "created_at"


@admin.register(StrategyPerformance)
class StrategyPerformanceAdmin(NumbersAdminMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["date", "strategy", "total_trades", "winning_trades", "losing_trades", "win_rate", "total_pnl",
                    "max_drawdown", "sharpe_ratio"]
    list_filter = ["date"]
    search_fields = ["strategy__name", "strategy__user__username"]
    list_select_related = ["strategy"]
    date_hierarchy = "date"
