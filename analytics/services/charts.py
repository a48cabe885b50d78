"""Chart specs for static/analytics/charts.js: labels and series in, a small JSON-able dict out.

The page carries each spec in a `json_script` block (data, not code: the Content-Security-Policy allows no
inline script) and charts.js builds the Chart.js configuration from it, so no page writes JavaScript.
"""
from __future__ import annotations

from collections.abc import Sequence

#: Series colours, in order (colour-blind-safe Okabe-Ito palette).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000", "#999999")


def _spec(kind: str, labels: Sequence[str], series: Sequence[dict], title: str, stacked: bool) -> dict:
    return {"type": kind, "title": title, "stacked": stacked, "labels": list(labels),
            "datasets": [{"label": s["label"], "data": list(s["values"]), "color": PALETTE[n % len(PALETTE)]}
                         for n, s in enumerate(series)]}


def bars(labels: Sequence[str], series: Sequence[dict], *, title: str = "", stacked: bool = False) -> dict:
    return _spec("bar", labels, series, title, stacked)


def lines(labels: Sequence[str], series: Sequence[dict], *, title: str = "") -> dict:
    return _spec("line", labels, series, title, False)
