"""Archived orders and trades (maintenance's retention): read-only, looked up by user, symbol or broker id."""
from __future__ import annotations

from django.contrib import admin

from brokers.admin import ReadOnlyAdmin
from core.numbers import NumbersAdminMixin
from trading.models import OrderArchive, TradeArchive


class ArchiveAdmin(NumbersAdminMixin, ReadOnlyAdmin):
    """Moved here by retention, never edited: the rows are what the books held."""

    show_full_result_count = False
    list_per_page = 100


@admin.register(OrderArchive)
class OrderArchiveAdmin(ArchiveAdmin):
    list_display = ["id", "placed_at", "user_id", "account_id", "exchange", "symbol", "action", "quantity", "price",
                    "status", "is_analyze"]
    list_filter = ["status", "is_analyze", "exchange"]
    search_fields = ["=id", "=user_id", "symbol", "=broker_order_id", "strategy"]


@admin.register(TradeArchive)
class TradeArchiveAdmin(ArchiveAdmin):
    list_display = ["id", "traded_at", "order_id", "user_id", "exchange", "symbol", "action", "quantity", "price"]
    list_filter = ["exchange"]
    search_fields = ["=order_id", "=user_id", "symbol", "=broker_trade_id"]
