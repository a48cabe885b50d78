"""Market calendar admin: timetables with their weekday sessions, holidays with their per-exchange rows.

Saves go through model validation (Template.clean, the check constraints), and every save or delete
drops the calendar cache through the models' signal receivers, so the order pipeline sees an edit at once.
"""
from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from trading.models import MarketHoliday, MarketHolidayExchange, TradingHoursTemplate, TradingSession


class TradingSessionInline(admin.TabularInline):
    model = TradingSession
    extra = 0
    max_num = 7
    fields = [
        "weekday", "is_trading_day", "pre_market_start", "pre_market_end", "market_open", "market_close",
        "post_market_start", "post_market_end",
    ]


@admin.register(TradingHoursTemplate)
class TradingHoursTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "exchange_codes", "time_zone", "is_active", "updated_at"]
    list_filter = ["is_active", "time_zone"]
    search_fields = ["name", "description", "exchanges"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [TradingSessionInline]

    @admin.display(description="exchanges")
    def exchange_codes(self, obj: TradingHoursTemplate) -> str:
        return ", ".join(obj.exchanges)


class MarketHolidayExchangeInline(admin.TabularInline):
    model = MarketHolidayExchange
    extra = 0
    fields = ["exchange", "is_open", "start_time", "end_time"]


class YearFilter(admin.SimpleListFilter):
    title = "year"
    parameter_name = "year"

    def lookups(self, request, model_admin):
        years = MarketHoliday.objects.dates("date", "year", order="DESC")
        return [(str(day.year), str(day.year)) for day in years]

    def queryset(self, request, queryset):
        if self.value() and self.value().isdigit():
            return queryset.filter(date__year=int(self.value()))
        return queryset


@admin.register(MarketHoliday)
class MarketHolidayAdmin(admin.ModelAdmin):
    list_display = ["date", "weekday", "description", "holiday_type", "closed_exchanges", "open_exchanges"]
    list_filter = [YearFilter, "holiday_type"]
    search_fields = ["description", "exchanges__exchange"]
    date_hierarchy = "date"
    ordering = ["-date"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [MarketHolidayExchangeInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("exchanges")

    @admin.display(description="day", ordering="date")
    def weekday(self, obj: MarketHoliday) -> str:
        return obj.date.strftime("%a")

    @admin.display(description="closed")
    def closed_exchanges(self, obj: MarketHoliday) -> str:
        return ", ".join(row.exchange for row in obj.exchanges.all() if not row.is_open) or "-"

    @admin.display(description="open")
    def open_exchanges(self, obj: MarketHoliday) -> str:
        return ", ".join(str(row) for row in obj.exchanges.all() if row.is_open) or "-"
