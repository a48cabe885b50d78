"""Admin of the dashboard's own tables: the heartbeat and the P&L rollups (imported by analytics.admin)."""
from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from analytics.models import Heartbeat, PnlRollup, PnlRollupDay
from analytics.services import pnl_rollup


class ReadOnly(admin.ModelAdmin):
    """Derived rows: written by tasks, never by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Heartbeat)
class HeartbeatAdmin(ReadOnly):
    list_display = ["name", "seen_at", "detail"]


@admin.register(PnlRollupDay)
class PnlRollupDayAdmin(ReadOnly):
    """Which trading days the P&L charts read from rollups; roll a day again after fills of that day were
    imported, or delete its rollup (the charts then sum that day's fills)."""

    list_display = ["day", "rows", "rolled_at"]
    date_hierarchy = "day"
    ordering = ["-day"]
    actions = ["roll_again"]

    @admin.action(description="Roll the selected days again from their fills", permissions=["delete"])
    def roll_again(self, request: HttpRequest, queryset: QuerySet[PnlRollupDay]) -> None:
        days = list(queryset.values_list("day", flat=True)[:62])
        rows = sum(pnl_rollup.roll_day(day) for day in days)
        self.message_user(request, f"Rolled {len(days)} day(s) again: {rows} row(s).", messages.SUCCESS)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[PnlRollupDay]) -> None:
        PnlRollup.objects.filter(day__in=queryset.values("day")).delete()
        super().delete_queryset(request, queryset)

    def delete_model(self, request: HttpRequest, obj: PnlRollupDay) -> None:
        PnlRollup.objects.filter(day=obj.day).delete()
        super().delete_model(request, obj)


@admin.register(PnlRollup)
class PnlRollupAdmin(ReadOnly):
    list_display = ["day", "user", "strategy", "mode", "realized"]
    list_filter = ["mode"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    search_fields = ["strategy", "user__username"]
    ordering = ["-day", "user", "strategy"]
    show_full_result_count = False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
