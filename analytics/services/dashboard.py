"""The operators' first screen (the admin index), one function per panel.

Built to stay fast on a large orders table (bench/analytics.py times it at 1,000,000 orders):
- today's figures are ranges on indexed timestamps (orders by placed_at, logs by timestamp), summed in SQL
  with conditional aggregates, one statement per panel;
- the charts' closed days cannot change any more (fills, orders and requests are stamped when they happen):
  beat rolls each closed day's P&L and latency into small daily tables (analytics.services.pnl_rollup and
  .rollup), and the latency chart's closed days are also cached for hours; today's figures are cached for
  DASHBOARD_CACHE_SECONDS in the shared cache.
So a cold dashboard costs a fixed number of queries, a warm one fewer and never more.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q
from django.db.models.functions import TruncHour
from django.utils import timezone

from analytics.models import IpBan, TrafficLog
from analytics.services import health, latency, pnl, rollup
from brokers.models import FailoverEvent
from trading.models import Order, OrderKind, OrderStatus
from trading.resource_api.filters import ist_day_bounds

today = pnl.today

CHART_DAYS = 14
TRAFFIC_HOURS = 24
TOP_REASONS = 5
LIST_LIMIT = 10
CLOSED_DAYS_SECONDS = 6 * 3600  # past days' figures never change; kept a while, refreshed anyway
PREFIX = "analytics:dashboard"


def _cached(key: str, seconds: int, compute: Callable[[], Any]) -> Any:
    if seconds <= 0:
        return compute()
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, seconds)
    return value


def _split(since: dt.date, until: dt.date, part: Callable[[dt.date, dt.date], Any], name: str) -> list:
    """part(past days) cached until they are long past, plus part(today) cached briefly; rows concatenated."""
    rows = []
    if since < until:
        last = until - dt.timedelta(days=1)
        rows += _cached(f"{PREFIX}:{name}:{since}:{last}", CLOSED_DAYS_SECONDS, lambda: part(since, last))
    rows += _cached(f"{PREFIX}:{name}:{until}", settings.DASHBOARD_CACHE_SECONDS, lambda: part(until, until))
    return rows


# --- Panels ---------------------------------------------------------------------------------------

def orders_today(now: dt.datetime | None = None) -> dict:
    """Today's orders (sent or refused; split and basket parents are containers, not counted), filled,
    rejected, still open, and the top rejection reasons. Two queries on the placed_at range."""
    start, end = ist_day_bounds(today(now))
    rows = Order.objects.filter(placed_at__gte=start, placed_at__lt=end).exclude(kind__in=[
        OrderKind.SPLIT, OrderKind.BASKET]).order_by()
    figures = rows.aggregate(
        orders=Count("pk"),
        filled=Count("pk", filter=Q(status__in=[OrderStatus.COMPLETE, OrderStatus.PARTIALLY_FILLED])),
        rejected=Count("pk", filter=Q(status=OrderStatus.REJECTED)),
        open=Count("pk", filter=Q(status__in=[OrderStatus.PENDING, OrderStatus.OPEN, OrderStatus.TRIGGER_PENDING])),
        cancelled=Count("pk", filter=Q(status=OrderStatus.CANCELLED)),
    )
    figures["reasons"] = list(rows.filter(status=OrderStatus.REJECTED).values("rejection_reason")
                              .annotate(count=Count("pk")).order_by("-count", "rejection_reason")[:TOP_REASONS])
    return figures


def pnl_chart(now: dt.datetime | None = None, chart_days: int = CHART_DAYS) -> dict:
    """Realized P&L per day over the last `chart_days` trading days, per user and per strategy: closed days
    from their daily rollups, today from the books (three queries), cached briefly."""
    until = today(now)
    since = until - dt.timedelta(days=chart_days - 1)

    def compute() -> dict:
        rows = pnl.realized_rows(since, until)
        return {"days": [d.isoformat() for d in pnl.days(since, until)],
                "by_user": _chart(pnl.series(rows, lambda r: r.username, since, until)),
                "by_strategy": _chart(pnl.series(rows, lambda r: r.strategy or "(no strategy)", since, until)),
                "total": sum((r.realized for r in rows if r.day == until), pnl.ZERO)}

    return _cached(f"{PREFIX}:pnl:{since}:{until}", settings.DASHBOARD_CACHE_SECONDS, compute)


def _chart(series: list[dict]) -> list[dict]:
    # Figures travel to the page as JSON numbers (Chart.js plots numbers; tables show the Decimals).
    return [{"label": s["label"], "values": [float(v) for v in s["values"]]} for s in series]


def latency_chart(now: dt.datetime | None = None, chart_days: int = CHART_DAYS) -> dict:
    """p50/p90/p95/p99 of the order path's total latency per trading day, everyone's orders."""
    until = today(now)
    since = until - dt.timedelta(days=chart_days - 1)

    def part(first: dt.date, last: dt.date) -> list[dict]:
        query = latency.LatencyQuery(since=ist_day_bounds(first)[0], until=ist_day_bounds(last)[1], group_by=("day",))
        if first == last == until:  # today: exact, from today's orders (an indexed range)
            return latency.latency_report(Order.objects.all(), query)
        return rollup.report(query).results  # closed days: their daily rollups where rolled (percentiles +-0.5%)

    per_day = {row["day"]: row for row in _split(since, until, part, "latency")}
    axis = pnl.days(since, until)
    chart = {"days": [d.isoformat() for d in axis]}
    for name, _ in latency.PERCENTILES:
        chart[name] = [round(per_day[d][f"{name}_ms"], 1) if d in per_day else None for d in axis]
    chart["count"] = [per_day[d]["count"] if d in per_day else 0 for d in axis]
    chart["today"] = per_day.get(until)
    return chart


def traffic(now: dt.datetime | None = None, hours: int = TRAFFIC_HOURS) -> dict:
    """Requests, client errors (4xx) and server errors (5xx) per hour over the last `hours` hours, from the
    traffic log (in the logs database when it has its own). One query, cached briefly."""
    # Hours of the display time zone (IST is UTC+5:30: UTC hours would read 09:30, 10:30, ...).
    zone = timezone.get_current_timezone()
    end = timezone.localtime(now or timezone.now(), zone).replace(minute=0, second=0, microsecond=0)
    end += dt.timedelta(hours=1)
    start = end - dt.timedelta(hours=hours)

    def compute() -> list[dict]:
        return list(TrafficLog.objects.filter(timestamp__gte=start, timestamp__lt=end)
                    .annotate(hour=TruncHour("timestamp", tzinfo=zone)).values("hour")
                    .annotate(requests=Count("pk"),
                              client_errors=Count("pk", filter=Q(status__gte=400, status__lt=500)),
                              server_errors=Count("pk", filter=Q(status__gte=500))).order_by("hour"))

    rows = _cached(f"{PREFIX}:traffic:{end.isoformat()}:{hours}", settings.DASHBOARD_CACHE_SECONDS, compute)
    per_hour = {row["hour"]: row for row in rows}
    axis = [start + dt.timedelta(hours=n) for n in range(hours)]
    chart = {"hours": [h.strftime("%H:%M") for h in axis]}
    for name in ("requests", "client_errors", "server_errors"):
        chart[name] = [per_hour[h][name] if h in per_hour else 0 for h in axis]
    total = sum(chart["requests"])
    chart["total"] = total
    chart["error_rate"] = (sum(chart["server_errors"]) / total * 100) if total else 0.0
    chart["client_error_rate"] = (sum(chart["client_errors"]) / total * 100) if total else 0.0
    return chart


def active_bans(now: dt.datetime | None = None) -> dict:
    """The active IP bans, newest first (at most LIST_LIMIT), and how many there are. Two queries."""
    bans = IpBan.objects.active(now).order_by("-banned_at")
    return {"count": bans.count(), "latest": list(bans[:LIST_LIMIT])}


def failovers() -> list[FailoverEvent]:
    """The latest failover events with their user and accounts (one query)."""
    return list(FailoverEvent.objects.select_related("user", "from_account", "to_account")
                .order_by("-created_at", "-id")[:LIST_LIMIT])


def panels(now: dt.datetime | None = None) -> dict:
    """Everything the first screen shows."""
    return {"today": today(now), "orders": orders_today(now), "pnl": pnl_chart(now), "latency": latency_chart(now),
            "traffic": traffic(now), "bans": active_bans(now), "failovers": failovers(),
            "health": health.worker_and_beat(now)}
