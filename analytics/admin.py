"""Analytics admin: read-only logs and trackers (big tables: no full count), bans an operator can lift at
once, and the never-ban list."""
from __future__ import annotations

import contextlib
import json
from datetime import timedelta

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html

from analytics import bans
from analytics.models import (
    AllowedIp,
    ApiLog,
    ApiLogArchive,
    BanSource,
    InvalidKeyTracker,
    IpBan,
    LatencyRollup,
    LatencyRollupDay,
    NotFoundTracker,
    SystemLog,
    SystemLogArchive,
    TrafficLog,
    TrafficLogArchive,
)
from analytics.services import rollup
from core.bigtables import BigTableAdminMixin


class StatusClassFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status_class"

    def lookups(self, request, model_admin):
        return [("2", "2xx success"), ("3", "3xx redirect"), ("4", "4xx client error"), ("5", "5xx server error")]

    def queryset(self, request, queryset):
        if self.value() in {"2", "3", "4", "5"}:
            low = int(self.value()) * 100
            return queryset.filter(status__gte=low, status__lt=low + 100)
        return queryset


def choices_filter(field: str, values: list[str], title: str | None = None) -> type[admin.SimpleListFilter]:
    """A filter with fixed choices: Django's default runs SELECT DISTINCT over the whole table per page."""

    class Filter(admin.SimpleListFilter):
        parameter_name = field

        def lookups(self, request, model_admin):
            return [(value, value) for value in values]

        def queryset(self, request, queryset):
            return queryset.filter(**{field: self.value()}) if self.value() else queryset

    Filter.title = title or field
    return Filter


MethodFilter = choices_filter("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])


class ReadOnlyLogAdmin(BigTableAdminMixin, admin.ModelAdmin):
    """Logs are evidence: nobody adds or edits a row from the admin (retention removes old rows)."""

    list_per_page = 100
    ordering = ["-id"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="time", ordering="timestamp")
    def time(self, obj) -> str:
        return f"{timezone.localtime(obj.timestamp):%d %b %H:%M:%S}"

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(TrafficLog)
class TrafficLogAdmin(ReadOnlyLogAdmin):
    list_display = ["time", "method", "path", "status", "duration", "client_ip", "username", "bytes"]
    list_filter = [StatusClassFilter, MethodFilter]
    search_fields = ["path", "=client_ip", "=username"]

    @admin.display(description="ms", ordering="duration_ms")
    def duration(self, obj: TrafficLog) -> str:
        return f"{obj.duration_ms:.1f}"

    @admin.display(description="bytes out", ordering="response_size")
    def bytes(self, obj: TrafficLog) -> str:
        return "-" if obj.response_size is None else f"{obj.response_size:,}"


@admin.register(ApiLog)
class ApiLogAdmin(ReadOnlyLogAdmin):
    list_display = ["time", "method", "endpoint", "status", "duration", "username", "key_prefix", "broker",
                    "client_ip"]
    list_filter = [StatusClassFilter, MethodFilter]
    search_fields = ["endpoint", "=username", "=key_prefix", "=client_ip", "=broker"]
    fields = ["timestamp", "client_ip", "user_id", "username", "key_prefix", "method", "endpoint", "query", "status",
              "duration_ms", "broker", "request", "response"]

    @admin.display(description="ms", ordering="duration_ms")
    def duration(self, obj: ApiLog) -> str:
        return f"{obj.duration_ms:.1f}"

    @admin.display(description="request body (redacted)")
    def request(self, obj: ApiLog) -> str:
        return _pretty(obj.request_body)

    @admin.display(description="response body (redacted)")
    def response(self, obj: ApiLog) -> str:
        return _pretty(obj.response_body)


def _pretty(text: str) -> str:
    with contextlib.suppress(ValueError):
        text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', text)


@admin.register(SystemLog)
class SystemLogAdmin(ReadOnlyLogAdmin):
    list_display = ["time", "level", "component", "short_message"]
    list_filter = [choices_filter("level", ["WARNING", "ERROR", "CRITICAL"])]
    search_fields = ["component", "message"]
    fields = ["timestamp", "level", "component", "message", "details"]

    @admin.display(description="message")
    def short_message(self, obj: SystemLog) -> str:
        return obj.message if len(obj.message) <= 140 else obj.message[:140] + "…"

    @admin.display(description="data")
    def details(self, obj: SystemLog) -> str:
        data = dict(obj.data or {})
        trace = data.pop("traceback", "")
        text = json.dumps(data, indent=2, ensure_ascii=False) + (f"\n\n{trace}" if trace else "")
        return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', text)


class TrackerAdmin(ReadOnlyLogAdmin):
    list_display = ["ip", "day", "count", "last_at", "last_path"]
    list_filter = ["day"]
    search_fields = ["=ip"]
    ordering = ["-day", "-count"]


admin.site.register(NotFoundTracker, TrackerAdmin)
admin.site.register(InvalidKeyTracker, TrackerAdmin)


class ActiveBanFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("ended", "Expired or lifted")]

    def queryset(self, request, queryset):
        active = Q(is_permanent=True) | Q(expires_at__gt=timezone.now())
        if self.value() == "active":
            return queryset.filter(active)
        if self.value() == "ended":
            return queryset.exclude(active)
        return queryset


@admin.register(IpBan)
class IpBanAdmin(admin.ModelAdmin):
    list_display = ["ip", "active", "reason", "ban_count", "banned_at", "expires_at", "is_permanent", "created_by",
                    "lifted_at", "lifted_by"]
    list_filter = [ActiveBanFilter, "created_by", "is_permanent"]
    search_fields = ["=ip", "reason"]
    ordering = ["-banned_at"]
    actions = ["lift_bans"]
    readonly_fields = ["ban_count", "banned_at", "created_by", "lifted_at", "lifted_by"]
    fields = ["ip", "reason", "expires_at", "is_permanent", *readonly_fields]

    @admin.display(boolean=True, description="active")
    def active(self, obj: IpBan) -> bool:
        return obj.is_active

    @admin.action(description="Lift the selected bans now")
    def lift_bans(self, request: HttpRequest, queryset: QuerySet[IpBan]) -> None:
        lifted = bans.lift(list(queryset.values_list("ip", flat=True)), by=request.user.get_username())
        self.message_user(request, f"{lifted} ban(s) lifted; every process lets the address in from now on.",
                          messages.SUCCESS)

    def save_model(self, request: HttpRequest, obj: IpBan, form, change: bool) -> None:
        if not change:
            obj.created_by = BanSource.OPERATOR
        if obj.is_permanent:
            obj.expires_at = None
        elif obj.expires_at is None:
            obj.expires_at = timezone.now() + timedelta(hours=settings.IP_BAN_HOURS)
        super().save_model(request, obj, form, change)
        if bans.is_protected(obj.ip):
            self.message_user(request, f"{obj.ip} is loopback or on the never-ban list: the ban has no effect.",
                              messages.WARNING)


@admin.register(AllowedIp)
class AllowedIpAdmin(admin.ModelAdmin):
    list_display = ["network", "note", "created_at"]
    search_fields = ["network", "note"]
    ordering = ["network"]


@admin.register(LatencyRollupDay)
class LatencyRollupDayAdmin(admin.ModelAdmin):
    """Which trading days the latency report reads from rollups; an operator may roll a day again (after
    orders of that day were imported) or drop its rollup (the report then reads that day's orders)."""

    list_display = ["day", "orders", "rolled_at"]
    date_hierarchy = "day"
    ordering = ["-day"]
    actions = ["roll_again"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.action(description="Roll the selected days again from their orders", permissions=["delete"])
    def roll_again(self, request: HttpRequest, queryset: QuerySet[LatencyRollupDay]) -> None:
        days = list(queryset.values_list("day", flat=True)[:62])
        orders = sum(rollup.roll_day(day) for day in days)
        self.message_user(request, f"Rolled {len(days)} day(s) again: {orders} order(s).", messages.SUCCESS)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[LatencyRollupDay]) -> None:
        LatencyRollup.objects.filter(day__in=queryset.values("day")).delete()
        super().delete_queryset(request, queryset)

    def delete_model(self, request: HttpRequest, obj: LatencyRollupDay) -> None:
        LatencyRollup.objects.filter(day=obj.day).delete()
        super().delete_model(request, obj)


@admin.register(LatencyRollup)
class LatencyRollupAdmin(ReadOnlyLogAdmin):
    list_display = ["day", "broker", "user", "metric", "count", "max_us"]
    list_filter = ["metric", "broker"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    ordering = ["-day", "broker", "metric"]


# Archives (maintenance's retention with the "archive" action): shown like the logs they came from.
@admin.register(TrafficLogArchive)
class TrafficLogArchiveAdmin(TrafficLogAdmin):
    pass


@admin.register(ApiLogArchive)
class ApiLogArchiveAdmin(ApiLogAdmin):
    pass


@admin.register(SystemLogArchive)
class SystemLogArchiveAdmin(SystemLogAdmin):
    pass


from analytics import admin_dashboard  # noqa: E402, F401  (the heartbeat and P&L rollups' admin)
