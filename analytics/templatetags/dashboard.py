"""The operators' dashboard on the admin index: `{% operator_dashboard as dash %}` (templates/admin/index.html).

A template tag, not a view: the admin site lives in accounts, which may not import analytics (nothing
does but config and templates). The figures come from analytics.services.dashboard, one function per panel;
the charts travel as JSON specs that static/analytics/charts.js hands to Chart.js.
"""
from __future__ import annotations

from django import template

from analytics.services import charts, dashboard

register = template.Library()


@register.simple_tag(takes_context=True)
def operator_dashboard(context: template.Context) -> dict | None:
    request = context.get("request")
    if request is None or not request.user.is_staff:  # the admin index is staff-only already; be sure
        return None
    panels = dashboard.panels()
    pnl, lat, traffic = panels["pnl"], panels["latency"], panels["traffic"]
    panels["charts"] = {
        "pnl_user": charts.bars(pnl["days"], pnl["by_user"], title="Realized P&L per user (₹)", stacked=True),
        "pnl_strategy": charts.bars(pnl["days"], pnl["by_strategy"], title="Realized P&L per strategy (₹)",
                                    stacked=True),
        "latency": charts.lines(lat["days"], [{"label": name, "values": lat[name]} for name in ("p50", "p90", "p95",
                                                                                             "p99")],
                                title="Order latency per day (ms)"),
        "traffic": charts.lines(traffic["hours"], [
            {"label": "requests", "values": traffic["requests"]},
            {"label": "4xx", "values": traffic["client_errors"]},
            {"label": "5xx", "values": traffic["server_errors"]}], title="Requests per hour"),
    }
    return panels


@register.simple_tag(takes_context=True)
def trader_summary(context: template.Context) -> dict | None:
    """`{% trader_summary as mine %}` on the trader's dashboard (accounts may not import analytics)."""
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return None
    from analytics.pages import books

    return books.summary(request.user)
