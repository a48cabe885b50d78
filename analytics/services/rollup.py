"""Daily latency rollups: the report over closed trading days from precomputed distributions.

Percentiles over a month of orders read every order of the month (bench/analytics.py: seconds over
1,000,000 orders on PostgreSQL). A closed trading day (IST) is rolled once, by the beat task
`analytics.tasks.roll_latency_days`, into LatencyRollup rows per (day, broker, user, metric) and
per (day, broker, metric) for all users: the count, the sum and maximum in µs and the distribution
as a histogram. A report then merges the histograms of its closed days with one histogram computed
live over the rest of its range (today, the partial first and last days, days not rolled yet), which
the `order_placed_latency` index serves.

Buckets: each figure is rounded to whole µs (orders store ms with 3 decimals, so this is exact).
Under 1 ms every µs is its own bucket; from there on a bucket keeps three significant digits
(1-10 ms: 10 µs wide, 10-100 ms: 100 µs, 100 ms-1 s: 1 ms, ... 900 buckets per decade). A bucket is at
most 1% of its lower edge wide and is read as its midpoint (capped at the exact maximum), so:

    a percentile from rollups is within 0.5% of the exact percentile_cont (0 under 1 ms);
    count, mean, max and the SLA shares are exact (100, 150 and 200 ms are bucket edges).

A range with no rolled day is computed exactly from the orders (analytics.services.latency); the
report says which precision it has (`percentile_precision`).
"""
from __future__ import annotations

import bisect
import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import BigIntegerField, Case, Count, F, Max, Min, QuerySet, Sum, Value, When
from django.db.models.functions import Cast, Round
from django.utils import timezone

from analytics.models import LatencyRollup, LatencyRollupDay
from analytics.services.latency import (
    METRICS,
    PERCENTILES,
    SLA_MS,
    LatencyQuery,
    Span,
    entry,
    group_keys,
    interpolate,
    latency_report,
    measured_orders,
    sorted_entries,
)
from trading.models import Order
from trading.resource_api.filters import IST, ist_day_bounds

#: The bound on a rolled-up percentile's relative error (half the widest bucket's share of its edge).
PRECISION = 0.005
#: A day is rolled this long after it ends: an order's latency split is written when its broker answers.
ROLL_DELAY = dt.timedelta(minutes=10)
#: How far back the beat task rolls (older days are read from the orders, while they are kept).
BACKFILL_DAYS = 400
_DECADES = 12  # buckets are defined up to 10^12 µs (11.6 days); beyond that, one bucket per 10^9 µs

#: The order fields that make the group keys of a rollup row.
_ROLLUP_KEYS = {"broker_name": "broker", "user_id": "user_id", "username": "user__username", "day": "day"}


def width(us: int) -> int:
    """The width (µs) of the bucket a figure of `us` µs falls in."""
    return 10 ** min(max(0, len(str(us)) - 3), _DECADES - 3)


def bucket(us: int) -> int:
    """The lower edge (µs) of the bucket of a figure of `us` µs (the reference for the SQL below)."""
    return us - us % width(us)


assert all(bucket(limit * 1000) == limit * 1000 for limit in SLA_MS), "SLA thresholds must be bucket edges"


#: Each metric from the stored decimals (exact numeric arithmetic on PostgreSQL; no float round trip).
_DECIMALS = {"total": F("broker_ms") + F("overhead_ms"), "broker": F("broker_ms"), "overhead": F("overhead_ms"),
             "validation": F("validation_ms")}
assert set(_DECIMALS) == set(METRICS)


def _micros(metric: str) -> Any:
    return Cast(Round(_DECIMALS[metric] * Value(Decimal(1000))), BigIntegerField())


def _bucket_sql() -> Case:
    """bucket() of the annotation `us`, in SQL (integer division truncates on both backends)."""
    def edge(w: int) -> Any:
        return F("us") / Value(w, output_field=BigIntegerField()) * Value(w, output_field=BigIntegerField())

    whens = [When(us__lt=1000, then=F("us"))]
    whens += [When(us__lt=10 ** digits, then=edge(10 ** (digits - 3))) for digits in range(4, _DECADES + 1)]
    return Case(*whens, default=edge(10 ** (_DECADES - 3)), output_field=BigIntegerField())


def histogram_rows(orders: QuerySet[Order], query: LatencyQuery, spans: Sequence[Span],
                   keys: Iterable[str]) -> QuerySet:
    """One row per group and bucket over `spans` (parts of the query's range): the group keys, `bucket`,
    `n` orders, their sum `s` and maximum `m` in µs. `keys` are group_keys() names."""
    rows = measured_orders(orders, query, spans=spans).annotate(us=_micros(query.metric))
    return (rows.annotate(bucket=_bucket_sql()).values(*keys, "bucket")
            .annotate(n=Count("pk"), s=Sum("us"), m=Max("us")).order_by())


@dataclass
class Histogram:
    """A group's distribution: counts per bucket edge, with the exact count, sum and maximum."""

    counts: dict[int, int] = field(default_factory=dict)
    n: int = 0
    sum_us: int = 0
    max_us: int = -1

    def add(self, edge: int, n: int, sum_us: int, max_us: int) -> None:
        self.counts[edge] = self.counts.get(edge, 0) + n
        self.n += n
        self.sum_us += sum_us
        self.max_us = max(self.max_us, max_us)

    def merge_flat(self, flat: list[int], n: int, sum_us: int, max_us: int) -> None:
        counts, get = self.counts, self.counts.get  # the hot loop of a per-user report: locals, C slices
        for edge, count in zip(flat[::2], flat[1::2], strict=True):
            counts[edge] = get(edge, 0) + count
        self.n += n
        self.sum_us += sum_us
        self.max_us = max(self.max_us, max_us)

    def flat(self) -> list[int]:
        return [number for edge in sorted(self.counts) for number in (edge, self.counts[edge])]

    def figures(self) -> dict[str, Any]:
        """count, mean, max, the percentiles (ms) and under_<limit> counts, as latency.entry reads them."""
        edges = sorted(self.counts)
        cumulative = []
        running = 0
        for edge in edges:
            running += self.counts[edge]
            cumulative.append(running)

        def at(rank: int) -> float:  # the rank-th smallest figure (1-based), in ms
            if rank >= self.n:
                return self.max_us / 1000
            edge = edges[bisect.bisect_left(cumulative, rank)]
            return min(edge + (width(edge) - 1) / 2, self.max_us) / 1000

        ranks: dict[int, float] = {}
        for _, p in PERCENTILES:
            h = p * (self.n - 1)
            for rank in {math.floor(h) + 1, math.ceil(h) + 1}:
                ranks[rank] = at(rank)
        under = {}
        for limit in SLA_MS:
            below = bisect.bisect_left(edges, limit * 1000)  # buckets wholly under the limit
            under[f"under_{limit}"] = cumulative[below - 1] if below else 0
        return {"count": self.n, "mean": self.sum_us / self.n / 1000, "max": self.max_us / 1000, **under,
                **{name: interpolate(ranks, self.n, p) for name, p in PERCENTILES}}


def day_of(moment: dt.datetime) -> dt.date:
    return moment.astimezone(IST).date()


def roll_day(day: dt.date) -> int:
    """(Re)compute one trading day's rollups; returns the orders counted (metric `total`). Idempotent:
    the day's rows are replaced in one transaction, serialized on the day's LatencyRollupDay row."""
    start, end = ist_day_bounds(day)
    with transaction.atomic():
        marker, _ = LatencyRollupDay.objects.select_for_update().get_or_create(day=day, defaults={"orders": 0})
        LatencyRollup.objects.filter(day=day).delete()
        rows, counted = [], 0
        for metric in METRICS:
            groups: dict[tuple[str, int | None], Histogram] = {}
            spec = LatencyQuery(since=start, until=end, metric=metric, group_by=("broker", "user"))
            for row in histogram_rows(Order.objects.all(), spec, [(start, end)], ("broker_name", "user_id")):
                for user in (row["user_id"], None):  # the user's row and all users' row of the broker
                    groups.setdefault((row["broker_name"], user), Histogram()).add(
                        row["bucket"], row["n"], row["s"], row["m"])
            rows += [LatencyRollup(day=day, broker=broker, user_id=user, metric=metric, count=h.n, sum_us=h.sum_us,
                                   max_us=h.max_us, buckets=h.flat()) for (broker, user), h in groups.items()]
            if metric == "total":
                counted = sum(h.n for (_, user), h in groups.items() if user is None)
        LatencyRollup.objects.bulk_create(rows, batch_size=500)
        marker.orders, marker.rolled_at = counted, timezone.now()
        marker.save(update_fields=["orders", "rolled_at"])
    return counted


def days_to_roll(now: dt.datetime | None = None, limit: int = 31) -> list[dt.date]:
    """Closed days (ended ROLL_DELAY ago) from the first order's, within BACKFILL_DAYS, not rolled
    yet; the latest first, at most `limit`."""
    last = day_of((now or timezone.now()) - ROLL_DELAY) - dt.timedelta(days=1)
    first_order = Order.objects.aggregate(first=Min("placed_at"))["first"]
    if first_order is None:
        return []
    first = max(day_of(first_order), last - dt.timedelta(days=BACKFILL_DAYS - 1))
    done = set(LatencyRollupDay.objects.filter(day__gte=first, day__lte=last).values_list("day", flat=True))
    days = []
    day = last
    while day >= first and len(days) < limit:
        if day not in done:
            days.append(day)
        day -= dt.timedelta(days=1)
    return days


def whole_days(since: dt.datetime, until: dt.datetime) -> list[dt.date]:
    """The trading days that lie wholly inside [since, until)."""
    day = day_of(since)
    if ist_day_bounds(day)[0] < since:
        day += dt.timedelta(days=1)
    days = []
    while ist_day_bounds(day)[1] <= until:
        days.append(day)
        day += dt.timedelta(days=1)
    return days


def live_spans(query: LatencyQuery, rolled: Iterable[dt.date]) -> list[Span]:
    """The parts of the query's range that no rolled day covers."""
    spans, start = [], query.since
    for day in sorted(rolled):
        day_start, day_end = ist_day_bounds(day)
        if start < day_start:
            spans.append((start, day_start))
        start = day_end
    if start < query.until:
        spans.append((start, query.until))
    return spans


@dataclass
class Report:
    results: list[dict[str, Any]]
    percentile_precision: float  # bound on the percentiles' relative error (0: exact)


def report(query: LatencyQuery, *, user_id: int | None = None) -> Report:
    """The latency report of everyone's orders (or one user's): exact from the orders when the range
    has no rolled day, else rolled days' histograms merged with a live histogram of the rest. Three
    queries at most (rolled days, rollups, live orders)."""
    scope = Order.objects.all() if user_id is None else Order.objects.for_user(user_id)
    days = whole_days(query.since, query.until)
    rolled = set(LatencyRollupDay.objects.filter(day__in=days).values_list("day", flat=True)) if days else set()
    if not rolled:
        return Report(latency_report(scope, query), 0.0)
    keys = list(group_keys(query.group_by))
    groups: dict[tuple, Histogram] = {}
    rollups = LatencyRollup.objects.filter(day__in=rolled, metric=query.metric)
    if query.broker:
        rollups = rollups.filter(broker=query.broker)
    if user_id is not None:
        rollups = rollups.filter(user_id=user_id)
    else:  # all users' rows unless the report is per user
        rollups = rollups.filter(user__isnull="user" not in query.group_by)
    fields = [_ROLLUP_KEYS[key] for key in keys]
    for *group, n, sum_us, max_us, flat in rollups.values_list(*fields, "count", "sum_us", "max_us", "buckets"):
        groups.setdefault(tuple(group), Histogram()).merge_flat(flat, n, sum_us, max_us)
    spans = live_spans(query, rolled)
    if spans:
        for row in histogram_rows(scope, query, spans, keys):
            groups.setdefault(tuple(row[key] for key in keys), Histogram()).add(
                row["bucket"], row["n"], row["s"], row["m"])
    results = [entry({**dict(zip(keys, group, strict=True)), **histogram.figures()})
               for group, histogram in groups.items() if histogram.n]
    return Report(sorted_entries(results), PRECISION)
