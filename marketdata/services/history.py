"""The read side: bars at any served interval for a date range, aggregated in SQL from stored bars.

1-minute bars are read as stored. Longer intraday intervals group the 1-minute bars of each local
day into buckets counted from the session open; daily bars group them by the exchange's local date
(stored daily bars, from an import, stand for their dates); weeks and months fold the daily bars.
The grouping query gives each bucket's high, low, volume and its first and last minute; a second
indexed query reads the open of each first minute and the close (and open interest) of each last one.
Both are the ORM's public API on PostgreSQL and SQLite alike (the time zone conversion is Django's
TruncDate/Extract with tzinfo).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

from django.db.models import F, IntegerField, Max, Min, QuerySet, Sum, Value
from django.db.models.functions import Cast, ExtractHour, ExtractMinute, TruncDate

from brokers.adapters.base import Candle
from marketdata.models import Bar, StoredInterval
from marketdata.services.clock import ExchangeClock, exchange_clock

#: Intraday intervals served, in minutes, with OpenAlgo's names.
INTRADAY_MINUTES = {"1m": 1, "3m": 3, "5m": 5, "10m": 10, "15m": 15, "30m": 30, "1h": 60}
#: Weeks (from Monday) and months: grouped from the daily candles, a few hundred a year at most.
PERIOD_START = {"W": lambda day: day - dt.timedelta(days=day.weekday()), "M": lambda day: day.replace(day=1)}
SERVED_INTERVALS = (*INTRADAY_MINUTES, "D", *PERIOD_START)


class HistoryError(ValueError):
    """A request the store cannot serve (an interval it does not aggregate to)."""


def _bars(exchange: str, symbol: str, interval: str, since: dt.datetime, until: dt.datetime) -> QuerySet[Bar]:
    # Equality on (symbol, exchange, interval) and a range on timestamp: the unique index's order.
    return Bar.objects.filter(symbol=symbol, exchange=exchange, interval=interval, timestamp__gte=since,
                              timestamp__lt=until)


def daily_timestamp(day: dt.date) -> dt.datetime:
    """OpenAlgo's daily rows carry the date as midnight UTC (its client shows them without a zone)."""
    return dt.datetime.combine(day, dt.time.min, dt.UTC)


def history(exchange: str, symbol: str, interval: str, start: dt.date, end: dt.date) -> list[Candle]:
    """Candles from `start` to `end` inclusive (the exchange's local dates), oldest first."""
    exchange, symbol = exchange.upper(), symbol.upper()
    if interval not in SERVED_INTERVALS:
        raise HistoryError(f"interval {interval!r} is not served; use one of {', '.join(SERVED_INTERVALS)}.")
    clock = exchange_clock(exchange, start)
    try:  # the instants must exist in UTC too (the database's): 0001-01-01 IST does not
        since = clock.day_start(start).astimezone(dt.UTC)
        until = clock.day_start(end + dt.timedelta(days=1)).astimezone(dt.UTC)
    except OverflowError:
        raise HistoryError("start_date/end_date: out of range.") from None
    if interval == StoredInterval.MINUTE:
        return [Candle(b.timestamp, b.open, b.high, b.low, b.close, b.volume, b.oi)
                for b in _bars(exchange, symbol, StoredInterval.MINUTE, since, until).order_by("timestamp")]
    if interval == StoredInterval.DAY:
        return _daily(exchange, symbol, clock, since, until)
    if interval in PERIOD_START:
        return _periods(_daily(exchange, symbol, clock, since, until), PERIOD_START[interval])
    return _intraday(exchange, symbol, clock, INTRADAY_MINUTES[interval], since, until)


def _grouped(minutes: QuerySet[Bar], keys: list[str]) -> list[dict]:
    return list(minutes.values(*keys).annotate(first=Min("timestamp"), last=Max("timestamp"), high=Max("high"),
                                                low=Min("low"), volume=Sum("volume")).order_by(*keys))


def _ends(exchange: str, symbol: str, groups: list[dict]) -> dict[dt.datetime, tuple[Decimal, Decimal, int]]:
    """(open, close, oi) of each group's first and last minute, in one indexed query."""
    instants = {g["first"] for g in groups} | {g["last"] for g in groups}
    rows = Bar.objects.filter(symbol=symbol, exchange=exchange, interval=StoredInterval.MINUTE,
                              timestamp__in=instants).values_list("timestamp", "open", "close", "oi")
    return {at: (open_, close, oi) for at, open_, close, oi in rows}


def _candle(at: dt.datetime, group: dict, ends: dict) -> Candle:
    open_, _, _ = ends[group["first"]]
    _, close, oi = ends[group["last"]]
    return Candle(at, open_, group["high"], group["low"], close, int(group["volume"] or 0), oi)


def _intraday(exchange: str, symbol: str, clock: ExchangeClock, size: int, since: dt.datetime,
              until: dt.datetime) -> list[Candle]:
    # A bucket is (local date, slot): slot n covers [open + n*size, open + (n+1)*size) minutes of the
    # day. The shift keeps the dividend non-negative (minutes before the open, as the round-the-clock
    # simulator makes, form their own buckets), since SQL's integer division truncates toward zero.
    shift = -(-clock.open_minute // size) * size
    zone = clock.zone
    minutes = _bars(exchange, symbol, StoredInterval.MINUTE, since, until).annotate(
        day=TruncDate("timestamp", tzinfo=zone),
        # PostgreSQL's EXTRACT is numeric: cast, so that "/" divides integers there as on SQLite.
        minute=Cast(ExtractHour("timestamp", tzinfo=zone) * 60 + ExtractMinute("timestamp", tzinfo=zone),
                    IntegerField()),
        slot=(F("minute") + Value(shift - clock.open_minute)) / Value(size),
    )
    groups = _grouped(minutes, ["day", "slot"])
    ends = _ends(exchange, symbol, groups)
    candles = []
    for group in groups:
        offset = dt.timedelta(minutes=group["slot"] * size - shift + clock.open_minute)
        start = (clock.day_start(group["day"]) + offset).astimezone(dt.UTC)  # wall-clock minutes of that day
        candles.append(_candle(start, group, ends))
    return candles


def _daily(exchange: str, symbol: str, clock: ExchangeClock, since: dt.datetime, until: dt.datetime) -> list[Candle]:
    minutes = _bars(exchange, symbol, StoredInterval.MINUTE, since, until).annotate(
        day=TruncDate("timestamp", tzinfo=clock.zone))
    groups = _grouped(minutes, ["day"])
    ends = _ends(exchange, symbol, groups)
    by_day = {g["day"]: _candle(daily_timestamp(g["day"]), g, ends) for g in groups}
    for bar in _bars(exchange, symbol, StoredInterval.DAY, since, until):  # an imported day stands as imported
        day = clock.local_date(bar.timestamp)
        by_day[day] = Candle(daily_timestamp(day), bar.open, bar.high, bar.low, bar.close, bar.volume, bar.oi)
    return [by_day[day] for day in sorted(by_day)]


def _periods(days: list[Candle], start_of: Callable[[dt.date], dt.date]) -> list[Candle]:
    """Daily candles folded into weeks or months, each stamped with its first date (OpenAlgo's way)."""
    periods: list[Candle] = []
    for day in days:
        stamp = daily_timestamp(start_of(day.timestamp.date()))
        if periods and periods[-1].timestamp == stamp:
            last = periods[-1]
            periods[-1] = Candle(stamp, last.open, max(last.high, day.high), min(last.low, day.low), day.close,
                                 last.volume + day.volume, day.oi)
        else:
            periods.append(replace(day, timestamp=stamp))
    return periods


def previous_close(exchange: str, symbol: str, day: dt.date) -> Decimal | None:
    """The close of the last bar before `day` (the exchange's local date): a quote's prev_close."""
    clock = exchange_clock(exchange, day)
    before = clock.day_start(day)
    latest: tuple[dt.date, int, Decimal] | None = None
    for interval, rank in ((StoredInterval.MINUTE, 0), (StoredInterval.DAY, 1)):  # on the same date, D wins
        bar = (Bar.objects.filter(symbol=symbol, exchange=exchange, interval=interval, timestamp__lt=before)
               .order_by("-timestamp").only("timestamp", "close").first())
        if bar is not None:
            candidate = (clock.local_date(bar.timestamp), rank, bar.close)
            latest = max(latest, candidate) if latest else candidate
    return latest[2] if latest else None
