"""Realized P&L by trading day (IST), per user, strategy and mode, summed in the database.

Two books realize P&L, one row per closing fill:
- the sandbox (analyze mode): its funds ledger's PNL entries, each pointing at the closing sandbox order;
- live accounts: trading's position history, each row pointing at the order whose fill closed it.
The strategy of a P&L is the strategy tag of the order that realized it (OpenAlgo's `strategy` field);
"" when the order had none (a square-off, a manual order).

Closed days are read from their daily rollups once beat has rolled them (analytics.services.pnl_rollup);
the rest from the books, one query per book. Callers scope them (a user's own, or everyone's).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from analytics.models import PnlRollup, PnlRollupDay
from sandbox.models import FundsLedger, SandboxOrder
from sandbox.models.funds import LedgerKind
from trading.models import Order, PositionHistory
from trading.resource_api.filters import IST, ist_day_bounds

PAISA = Decimal("0.01")
ZERO = Decimal("0")
SANDBOX, LIVE = "sandbox", "live"
MODES = (SANDBOX, LIVE)
#: How a series may be grouped (the day always is).
GROUPS = ("user", "strategy", "mode")


@dataclass(frozen=True)
class PnlRow:
    """What one user's orders with one strategy tag realized in one mode on one trading day."""

    day: dt.date
    user_id: int
    username: str
    strategy: str
    mode: str
    realized: Decimal


def today(now: dt.datetime | None = None) -> dt.date:
    """The trading day (an IST calendar day) `now` falls in."""
    return timezone.localtime(now or timezone.now(), IST).date()


def _range(since: dt.date, until: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[since, until] as trading days, inclusive, as aware bounds."""
    return ist_day_bounds(since)[0], ist_day_bounds(until)[1]


def _tagged(strategy: str | None, field: str) -> Q:
    """Rows realized by orders tagged `strategy` ("": untagged, or no order any more); None: all rows."""
    if strategy is None:
        return Q()
    if strategy == "":
        return Q(**{field: ""}) | Q(**{f"{field}__isnull": True})
    return Q(**{field: strategy})


def _strategy_of(model) -> Coalesce:
    """The strategy tag of the row's order, looked up per row by primary key. Not a join: PostgreSQL would
    hash-join the whole orders table (a sequential scan of millions of rows) for a day's few thousand fills."""
    return Coalesce(Subquery(model.objects.filter(pk=OuterRef("order_id")).values("strategy")[:1]), Value(""))


def _sandbox(since: dt.datetime, until: dt.datetime, user_id: int | None, strategy: str | None) -> QuerySet:
    rows = FundsLedger.objects.filter(_tagged(strategy, "order__strategy"), kind=LedgerKind.PNL,
                                      created_at__gte=since, created_at__lt=until)
    if user_id is not None:
        rows = rows.filter(user_id=user_id)
    return (rows.annotate(day=TruncDate("created_at", tzinfo=IST), strategy=_strategy_of(SandboxOrder),
                          username=F("user__username"))
            .values("day", "user_id", "username", "strategy").annotate(total=Sum("amount")).order_by())


def _live(since: dt.datetime, until: dt.datetime, user_id: int | None, strategy: str | None) -> QuerySet:
    rows = PositionHistory.objects.filter(_tagged(strategy, "order__strategy"), created_at__gte=since,
                                          created_at__lt=until).exclude(realized_pnl=0)
    if user_id is not None:
        rows = rows.filter(position__user_id=user_id)
    return (rows.annotate(day=TruncDate("created_at", tzinfo=IST), strategy=_strategy_of(Order),
                          user_id=F("position__user_id"), username=F("position__user__username"))
            .values("day", "user_id", "username", "strategy").annotate(total=Sum("realized_pnl")).order_by())


def from_books(since: dt.date, until: dt.date, *, user_id: int | None = None, modes: Iterable[str] = MODES,
               strategy: str | None = None) -> list[PnlRow]:
    """Summed from the books themselves (one query per mode): what rollups are made of."""
    start, end = _range(since, until)
    found: list[PnlRow] = []
    for mode, query in ((SANDBOX, _sandbox), (LIVE, _live)):
        if mode not in modes:
            continue
        for row in query(start, end, user_id, strategy):
            # SQLite sums decimals in floating point: back to paisa.
            found.append(PnlRow(row["day"], row["user_id"], row["username"], row["strategy"] or "", mode,
                                (row["total"] or ZERO).quantize(PAISA)))
    return found


def _from_rollups(rolled: set[dt.date], user_id: int | None, modes: Iterable[str],
                  strategy: str | None) -> list[PnlRow]:
    rows = PnlRollup.objects.filter(day__in=sorted(rolled), mode__in=list(modes))
    if user_id is not None:
        rows = rows.filter(user_id=user_id)
    if strategy is not None:
        rows = rows.filter(strategy=strategy)
    return [PnlRow(day, user, username, tag, mode, realized) for day, user, username, tag, mode, realized in
            rows.values_list("day", "user_id", "user__username", "strategy", "mode", "realized")]


def realized_rows(since: dt.date, until: dt.date, *, user_id: int | None = None, modes: Iterable[str] = MODES,
                  strategy: str | None = None) -> list[PnlRow]:
    """Every (day, user, strategy, mode) that realized P&L in trading days [since, until], sorted by day;
    one user's (user_id) or everyone's, one strategy tag's or all. Rolled days come from their rollups
    (analytics.services.pnl_rollup), the others from the books: four queries at most."""
    rolled = set(PnlRollupDay.objects.filter(day__gte=since, day__lte=until).values_list("day", flat=True))
    found = _from_rollups(rolled, user_id, modes, strategy) if rolled else []
    unrolled = [day for day in days(since, until) if day not in rolled]
    if unrolled:
        found += [row for row in from_books(unrolled[0], unrolled[-1], user_id=user_id, modes=modes,
                                            strategy=strategy) if row.day not in rolled]
    found.sort(key=lambda r: (r.day, r.username, r.strategy, r.mode))
    return found


def grouped(rows: Iterable[PnlRow], group_by: Iterable[str]) -> list[dict]:
    """The rows summed per day and the chosen groups: [{day, user_id, username, strategy, mode, realized}],
    a group not chosen is None."""
    keys = [name for name in GROUPS if name in set(group_by)]
    totals: dict[tuple, dict] = {}
    for row in rows:
        entry = {"day": row.day, "user_id": None, "username": None, "strategy": None, "mode": None}
        if "user" in keys:
            entry.update(user_id=row.user_id, username=row.username)
        if "strategy" in keys:
            entry["strategy"] = row.strategy
        if "mode" in keys:
            entry["mode"] = row.mode
        key = (entry["day"], entry["user_id"], entry["strategy"], entry["mode"])
        totals.setdefault(key, {**entry, "realized": ZERO})["realized"] += row.realized
    return sorted(totals.values(), key=lambda e: (e["day"], e["username"] or "", e["strategy"] or "", e["mode"] or ""))


def days(since: dt.date, until: dt.date) -> list[dt.date]:
    return [since + dt.timedelta(days=n) for n in range((until - since).days + 1)]


def series(rows: Iterable[PnlRow], label_of, since: dt.date, until: dt.date, top: int = 8) -> list[dict]:
    """Chart series: one per label (label_of(row)), a value per day of [since, until] (0 where nothing was
    realized); the `top` labels by absolute total, the rest summed as "others"."""
    axis = days(since, until)
    index = {day: n for n, day in enumerate(axis)}
    per_label: dict[str, list[Decimal]] = {}
    for row in rows:
        per_label.setdefault(label_of(row), [ZERO] * len(axis))[index[row.day]] += row.realized
    ranked = sorted(per_label.items(), key=lambda item: (-abs(sum(item[1])), item[0]))
    shown = [{"label": label, "values": values} for label, values in ranked[:top]]
    rest = ranked[top:]
    if rest:
        shown.append({"label": f"{len(rest)} others",
                      "values": [sum((values[n] for _, values in rest), ZERO) for n in range(len(axis))]})
    return shown
