"""A trader's own pages: orders, trades, positions, holdings, funds, P&L by day and latency (read-only).

Each shows the mode the trader is in (sandbox or live) unless ?mode= asks for the other; tables paginate
(PAGE_SIZE rows) and filter through a GET form. Every row comes from analytics.pages.books, which scopes it.
"""
from __future__ import annotations

import datetime as dt

from django import forms
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.views import account_page
from analytics.pages import books
from analytics.services import charts, latency, pnl, rollup
from trading.models import OrderStatus
from trading.resource_api.filters import ist_day_bounds

PAGE_SIZE = 50
RANGES = ((7, "7 days"), (30, "30 days"), (90, "90 days"))


class BookFilter(forms.Form):
    symbol = forms.CharField(required=False, max_length=64)

    def narrow(self, rows: QuerySet) -> QuerySet:
        symbol = self.cleaned_data.get("symbol", "").strip().upper()
        return rows.filter(symbol__icontains=symbol) if symbol else rows


class OrderFilter(BookFilter):
    status = forms.ChoiceField(required=False, choices=[("", "any status"), *OrderStatus.choices])
    strategy = forms.CharField(required=False, max_length=100)
    since = forms.DateField(required=False, label="from", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="to", widget=forms.DateInput(attrs={"type": "date"}))

    def narrow(self, rows: QuerySet) -> QuerySet:
        rows = super().narrow(rows)
        data = self.cleaned_data
        if data.get("status"):
            rows = rows.filter(status=data["status"])
        if data.get("strategy"):
            rows = rows.filter(strategy=data["strategy"].strip())
        if data.get("since"):
            rows = rows.filter(placed_at__gte=ist_day_bounds(data["since"])[0])
        if data.get("until"):
            rows = rows.filter(placed_at__lt=ist_day_bounds(data["until"])[1])
        return rows


class PositionFilter(BookFilter):
    closed = forms.BooleanField(required=False, label="include closed")

    def narrow(self, rows: QuerySet) -> QuerySet:
        rows = super().narrow(rows)
        if self.cleaned_data.get("closed"):
            return rows
        field = "quantity" if rows.model.__name__.startswith("Sandbox") else "net_quantity"
        return rows.exclude(Q(**{field: 0}))


def _table(request: HttpRequest, rows: QuerySet, form: BookFilter, template: str, title: str, **extra) -> HttpResponse:
    mode = books.mode_of(request.user, request.GET.get("mode"))
    rows = form.narrow(rows) if form.is_valid() else rows.none()  # else the form says what is wrong, by field
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, template, {"page": page, "form": form, "mode": mode, "title": title,
                                      "query": query.urlencode(), **extra})


@account_page
def orders(request: HttpRequest) -> HttpResponse:
    mode = books.mode_of(request.user, request.GET.get("mode"))
    return _table(request, books.orders(request.user, mode), OrderFilter(request.GET), "analytics/desk/orders.html",
                  "Orders")


@account_page
def trades(request: HttpRequest) -> HttpResponse:
    mode = books.mode_of(request.user, request.GET.get("mode"))
    return _table(request, books.trades(request.user, mode), BookFilter(request.GET), "analytics/desk/trades.html",
                  "Trades")


@account_page
def positions(request: HttpRequest) -> HttpResponse:
    mode = books.mode_of(request.user, request.GET.get("mode"))
    return _table(request, books.positions(request.user, mode), PositionFilter(request.GET),
                  "analytics/desk/positions.html", "Positions")


@account_page
def holdings(request: HttpRequest) -> HttpResponse:
    mode = books.mode_of(request.user, request.GET.get("mode"))
    return _table(request, books.holdings(request.user, mode), BookFilter(request.GET),
                  "analytics/desk/holdings.html", "Holdings")


@account_page
def funds(request: HttpRequest) -> HttpResponse:
    mode = books.mode_of(request.user, request.GET.get("mode"))
    ledger = Paginator(books.ledger(request.user), PAGE_SIZE).get_page(request.GET.get("page")) \
        if mode == books.SANDBOX else None
    return render(request, "analytics/desk/funds.html", {"mode": mode, "title": "Funds", "page": ledger,
                                                         "funds": books.funds(request.user, mode), "query": ""})


def _days(request: HttpRequest) -> int:
    asked = request.GET.get("days", "")
    return int(asked) if asked in {str(n) for n, _ in RANGES} else 30


@account_page
def pnl_page(request: HttpRequest) -> HttpResponse:
    days = _days(request)
    until = pnl.today()
    since = until - dt.timedelta(days=days - 1)
    rows = pnl.realized_rows(since, until, user_id=request.user.pk)
    chart = charts.bars([d.isoformat() for d in pnl.days(since, until)],
                        [{"label": s["label"], "values": [float(v) for v in s["values"]]}
                         for s in pnl.series(rows, lambda r: r.strategy or "(no strategy)", since, until)],
                        title="Realized P&L per day (₹), by strategy", stacked=True)
    table = sorted(pnl.grouped(rows, ("strategy", "mode")), key=lambda r: (r["day"], r["strategy"]), reverse=True)
    return render(request, "analytics/desk/pnl.html", {
        "title": "P&L", "mode": books.mode_of(request.user, None), "days": days, "ranges": RANGES, "chart": chart,
        "rows": table, "total": sum((r.realized for r in rows), pnl.ZERO)})


@account_page
def latency_page(request: HttpRequest) -> HttpResponse:
    days = _days(request)
    until = pnl.today()
    since = until - dt.timedelta(days=days - 1)
    bounds = {"since": ist_day_bounds(since)[0], "until": ist_day_bounds(until)[1]}
    per_day = {row["day"]: row for row in rollup.report(latency.LatencyQuery(**bounds, group_by=("day",)),
                                                         user_id=request.user.pk).results}
    per_broker = rollup.report(latency.LatencyQuery(**bounds, group_by=("broker",)), user_id=request.user.pk)
    axis = pnl.days(since, until)
    chart = charts.lines([d.isoformat() for d in axis], [
        {"label": name, "values": [round(per_day[d][f"{name}_ms"], 1) if d in per_day else None for d in axis]}
        for name, _ in latency.PERCENTILES], title="Your orders' latency per day (ms, broker + platform)")
    return render(request, "analytics/desk/latency.html", {
        "title": "Latency", "mode": books.mode_of(request.user, None), "days": days, "ranges": RANGES,
        "chart": chart, "brokers": per_broker.results, "precision": per_broker.percentile_precision})
