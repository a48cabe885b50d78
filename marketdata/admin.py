"""Bars in the admin: a big table, so every filter is a fixed list (no DISTINCT over the table) and
the search is an exact symbol, which the unique index's first column serves."""
from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from brokers.models import Exchange
from core.numbers import NumbersAdminMixin
from marketdata.models import Bar, StoredInterval


class ExchangeFilter(admin.SimpleListFilter):
    title = "exchange"
    parameter_name = "exchange"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return list(Exchange.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Bar]) -> QuerySet[Bar]:
        return queryset.filter(exchange=self.value()) if self.value() else queryset


@admin.register(Bar)
class BarAdmin(NumbersAdminMixin, admin.ModelAdmin):
    """Bars come from the price store's ticks and `manage.py bars import`; here they are read (and
    a bad one deleted), never edited, so a hand edit cannot break a bar's high/low invariant."""

    list_display = ["starts", "exchange", "symbol", "interval", "open", "high", "low", "close", "volume", "oi"]
    list_filter = [ExchangeFilter, "interval", ("timestamp", admin.DateFieldListFilter)]
    search_fields = ["symbol"]
    search_help_text = "Exact symbol, e.g. SBIN."
    ordering = ["-timestamp"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # facet counts would scan the whole table
    list_per_page = 100

    @admin.display(description="starts", ordering="timestamp")
    def starts(self, bar: Bar) -> str:
        local = timezone.localtime(bar.timestamp)
        return f"{local:%Y-%m-%d}" if bar.interval == StoredInterval.DAY else f"{local:%Y-%m-%d %H:%M}"

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Bar], search_term: str):
        term = search_term.strip().upper()
        return (queryset.filter(symbol=term) if term else queryset), False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Bar | None = None) -> bool:
        return False
