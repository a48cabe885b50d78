"""Latency of the order path: percentiles and SLA shares of the orders' latency split.

Every order records its split (trading.models.Order): `validation_ms` (auth, parse, checks),
`broker_ms` (the broker's round trip) and `overhead_ms` (the platform's own time, validation included);
the total an order took is broker + overhead. Only orders that reached a broker carry both, so risk
refusals and split/basket parents (no broker time) are left out of every metric but `validation`.

The figures are computed in the database, one query per report:
- PostgreSQL: `percentile_cont(p) WITHIN GROUP (ORDER BY ms)` per group (GROUP BY broker, user, day).
- Elsewhere (SQLite): window functions rank each group's orders; the query returns only the ranks
  percentile_cont reads (two around each percentile, and the last), which are interpolated here the
  way PostgreSQL does it (first + (second - first) * fraction, with h = p * (n - 1)), so both
  backends give the same figures on the same data.

Days are trading days: calendar days in the exchange's time zone (IST), whatever the server's.
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import (
    Aggregate,
    Avg,
    Case,
    Count,
    F,
    FloatField,
    IntegerField,
    Max,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Cast, Coalesce, Floor, Round, RowNumber, TruncDate

from trading.models import Order
from trading.resource_api.filters import IST

#: Percentiles reported, by name.
PERCENTILES: tuple[tuple[str, float], ...] = (("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99))
#: SLA thresholds in milliseconds: the share of orders strictly under each.
SLA_MS: tuple[int, ...] = (100, 150, 200)
#: How a report may be grouped (any combination, in this order).
GROUPS: tuple[str, ...] = ("broker", "user", "day")
#: The broker name of orders routed to the paper-trading sandbox (they have no trading account).
SANDBOX = "sandbox"


def _metric(expression: Any) -> Any:
    # Rounded to the stored 3 decimals before the cast: on SQLite the sum of two decimals is a float
    # sum (60.1 + 39.9 may land a hair under 100), on PostgreSQL an exact numeric one.
    return Cast(Round(expression, 3), FloatField())


#: What each metric measures, and the orders that have it.
METRICS: dict[str, tuple[Any, Q]] = {
    "total": (_metric(F("broker_ms") + F("overhead_ms")), Q(broker_ms__isnull=False, overhead_ms__isnull=False)),
    "broker": (_metric(F("broker_ms")), Q(broker_ms__isnull=False)),
    "overhead": (_metric(F("overhead_ms")), Q(overhead_ms__isnull=False, broker_ms__isnull=False)),
    "validation": (_metric(F("validation_ms")), Q(validation_ms__isnull=False)),
}


class PercentileCont(Aggregate):
    """PostgreSQL's continuous percentile (an ordered-set aggregate), interpolating between ranks."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        if not 0 <= fraction <= 1:
            raise ValueError("fraction: must be between 0 and 1")
        super().__init__(expression, fraction=repr(float(fraction)), **extra)


@dataclass(frozen=True)
class LatencyQuery:
    """A report's range [since, until) of placement times (aware), metric, grouping and broker filter."""

    since: dt.datetime
    until: dt.datetime
    metric: str = "total"
    group_by: tuple[str, ...] = ()
    broker: str | None = None

    def __post_init__(self) -> None:
        if self.since.tzinfo is None or self.until.tzinfo is None:
            raise ValueError("from: the range's times must be aware (carry a UTC offset)")
        if self.metric not in METRICS:
            raise ValueError(f"metric: must be one of {', '.join(METRICS)}")
        unknown = set(self.group_by) - set(GROUPS)
        if unknown:
            raise ValueError(f"group_by: unknown grouping {', '.join(sorted(unknown))}")


def group_keys(group_by: Iterable[str]) -> dict[str, Any | None]:
    """The expression of each grouping, None for a field the row has (user also carries the username,
    which the user id determines)."""
    keys: dict[str, Any] = {}
    for name in GROUPS:
        if name not in group_by:
            continue
        if name == "broker":
            keys["broker_name"] = Coalesce("account__broker", Value(SANDBOX))
        elif name == "user":
            keys["user_id"] = None  # a field of the row already
            keys["username"] = F("user__username")
        else:
            keys["day"] = TruncDate("placed_at", tzinfo=IST)
    return keys


Span = tuple[dt.datetime, dt.datetime]


def measured_orders(orders: QuerySet[Order], query: LatencyQuery, *, spans: Sequence[Span] = ()) -> QuerySet[Order]:
    """The orders of the range (or of `spans`, parts of it) that have the metric, with it as `ms` and the
    group keys annotated. `orders` is already scoped by the caller (a user's own, or everyone's)."""
    expression, present = METRICS[query.metric]
    within = Q()
    for since, until in spans or [(query.since, query.until)]:
        within |= Q(placed_at__gte=since, placed_at__lt=until)
    rows = orders.filter(present, within)
    if query.broker == SANDBOX:
        rows = rows.filter(Q(account__isnull=True) | Q(account__broker=SANDBOX))
    elif query.broker:
        rows = rows.filter(account__broker=query.broker)
    keys = {name: value for name, value in group_keys(query.group_by).items() if value is not None}
    return rows.annotate(ms=expression, **keys).order_by()


def _sla_counts(ms: str) -> dict[str, Any]:
    return {f"under_{limit}": Count("pk", filter=Q(**{f"{ms}__lt": limit})) for limit in SLA_MS}


def _rows_percentile_cont(rows: QuerySet[Order], keys: Sequence[str]) -> list[dict[str, Any]]:
    figures = {"count": Count("pk"), "mean": Avg("ms"), "max": Max("ms"), **_sla_counts("ms"),
               **{name: PercentileCont("ms", p) for name, p in PERCENTILES}}
    if not keys:
        found = rows.aggregate(**figures)
        return [found] if found["count"] else []
    return list(rows.values(*keys).annotate(**figures))


def interpolate(ranked: dict[int, float], n: int, p: float) -> float:
    """percentile_cont from the 1-based ranks it reads, with PostgreSQL's arithmetic (float8)."""
    h = p * (n - 1)
    first_row, second_row = math.floor(h), math.ceil(h)
    first = ranked[first_row + 1]
    if second_row == first_row:
        return first
    second = ranked[second_row + 1]
    return first + (second - first) * (h - first_row)


def _rows_windowed(rows: QuerySet[Order], keys: Sequence[str]) -> list[dict[str, Any]]:
    partition = [F(key) for key in keys if key != "username"] or None

    def over(expression: Any, **kwargs: Any) -> Window:
        return Window(expression, partition_by=partition, **kwargs)

    under = {f"under_{limit}": over(Sum(Case(When(ms__lt=limit, then=1), default=0, output_field=IntegerField())))
             for limit in SLA_MS}
    ranked = rows.annotate(n=over(Count("pk")), mean=over(Avg("ms")), **under,
                           rank=over(RowNumber(), order_by=[F("ms").asc(), F("pk").asc()]))
    wanted = Q(rank=F("n"))  # the maximum
    for _, p in PERCENTILES:
        first = Floor((F("n") - 1) * Value(p)) + 1
        wanted |= Q(rank=first) | Q(rank=first + 1)
    fields = [*keys, "n", "mean", *under, "rank", "ms"]
    groups: dict[tuple, dict[str, Any]] = {}
    for row in ranked.filter(wanted).values(*fields):
        group = groups.setdefault(tuple(row[key] for key in keys), {
            **{key: row[key] for key in keys}, "count": row["n"], "mean": row["mean"],
            **{name: row[name] for name in under}, "ranks": {}})
        group["ranks"][row["rank"]] = row["ms"]
    result = []
    for group in groups.values():
        ranks, n = group.pop("ranks"), group["count"]
        group["max"] = ranks[n]
        group.update({name: interpolate(ranks, n, p) for name, p in PERCENTILES})
        result.append(group)
    return result


def latency_report(orders: QuerySet[Order], query: LatencyQuery, *, portable: bool | None = None) -> list[dict]:
    """One row per group: count, mean, max, p50/p90/p95/p99 (ms) and the SLA shares, sorted by the
    group keys. One query. `portable` forces the window-function path (default: off on PostgreSQL)."""
    rows = measured_orders(orders, query)
    keys = list(group_keys(query.group_by))
    if portable is None:
        portable = connection.vendor != "postgresql"
    found = _rows_windowed(rows, keys) if portable else _rows_percentile_cont(rows, keys)
    return sorted_entries(entry(row) for row in found)


def entry(row: dict[str, Any]) -> dict[str, Any]:
    """A report row from a group's figures (group keys as group_keys names them, count, mean, max,
    p50..p99 and under_<limit>)."""
    count = row["count"]
    return {
        "broker": row.get("broker_name"), "user_id": row.get("user_id"), "username": row.get("username"),
        "day": row.get("day"), "count": count, "mean_ms": row["mean"], "max_ms": row["max"],
        **{f"{name}_ms": row[name] for name, _ in PERCENTILES},
        "sla": [{"under_ms": limit, "count": row[f"under_{limit}"], "share": row[f"under_{limit}"] / count}
                for limit in SLA_MS],
    }


def sorted_entries(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(entries, key=lambda e: (e["broker"] or "", e["username"] or "", e["user_id"] or 0,
                                          e["day"] or dt.date.min))
