"""Bars to and from CSV: `manage.py bars import FILE.csv` and `manage.py bars export`.

The file's columns (header names, any order, case-insensitive):
    exchange, symbol, timestamp, open, high, low, close   required
    interval (1m or D; default the command's --interval), volume, oi   optional
A timestamp is ISO 8601 (a naive one is the exchange's local time; a daily bar may give just the date)
or epoch seconds or milliseconds. A bad row is reported with its line number and skipped; the rest
are upserted in batches on (symbol, exchange, interval, timestamp), so importing a file again, or an
export of the same bars, changes nothing.
"""
from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import IO
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction

from brokers.models import Instrument
from brokers.services.instruments import get_instrument
from marketdata.models import Bar, StoredInterval
from marketdata.services.clock import ExchangeClock, exchange_clock

REQUIRED = ("exchange", "symbol", "timestamp", "open", "high", "low", "close")
COLUMNS = ("exchange", "symbol", "interval", "timestamp", "open", "high", "low", "close", "volume", "oi")
MAX_PRICE = Decimal(10) ** 12  # the column holds 12 digits before the point
_UPDATED = ["open", "high", "low", "close", "volume", "oi"]


class CsvError(ValueError):
    """A file that cannot be read at all (missing, no header, a required column absent)."""


class RowError(ValueError):
    """One bad row; the message names the field."""


@dataclass
class ImportReport:
    rows: int = 0
    stored: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)


class _Context:
    """Per-import caches: each exchange's clock and instrument master, looked up once."""

    def __init__(self) -> None:
        self.clocks: dict[str, ExchangeClock] = {}
        self.has_master: dict[str, bool] = {}

    def clock(self, exchange: str) -> ExchangeClock:
        if exchange not in self.clocks:
            self.clocks[exchange] = exchange_clock(exchange, dt.date.today())
        return self.clocks[exchange]

    def check_known(self, exchange: str, symbol: str) -> None:
        # An exchange whose master is loaded refuses symbols it lacks (typos); one with none takes any.
        if exchange not in self.has_master:
            self.has_master[exchange] = Instrument.objects.filter(exchange=exchange).exists()
        if self.has_master[exchange] and get_instrument(exchange, symbol) is None:
            raise RowError(f"symbol: {symbol} is not in the instrument master of {exchange}")


def _price(row: dict[str, str], name: str) -> Decimal:
    text = (row.get(name) or "").strip()
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise RowError(f"{name}: {text!r} is not a number") from None
    if not value.is_finite() or value <= 0 or value >= MAX_PRICE:
        raise RowError(f"{name}: must be positive and below {MAX_PRICE:,}, got {text!r}")
    return value


def _count(row: dict[str, str], name: str) -> int:
    text = (row.get(name) or "").strip()
    if not text:
        return 0
    if not text.isdigit() or len(text) > 18:
        raise RowError(f"{name}: {text!r} is not a whole number of zero or more")
    return int(text)


def _timestamp(text: str, interval: str, clock: ExchangeClock) -> dt.datetime:
    text = text.strip()
    try:
        if text.isdigit():
            seconds = int(text)
            at = dt.datetime.fromtimestamp(seconds / 1000 if seconds > 10**11 else seconds, tz=dt.UTC)
        else:
            at = dt.datetime.fromisoformat(text)
    except (ValueError, OverflowError, OSError):
        raise RowError(f"timestamp: {text!r} is not ISO 8601 or epoch seconds") from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=clock.zone)  # a naive time is the exchange's
    if interval == StoredInterval.DAY:
        return clock.day_start(clock.local_date(at))
    if at.second or at.microsecond:
        raise RowError(f"timestamp: {text!r} is not the start of a minute")
    return at.astimezone(dt.UTC)


def parse_row(row: dict[str, str], default_interval: str, context: _Context) -> Bar:
    exchange, symbol = (row.get("exchange") or "").strip().upper(), (row.get("symbol") or "").strip().upper()
    if not exchange or not symbol:
        raise RowError("exchange and symbol are required")
    interval = (row.get("interval") or "").strip() or default_interval
    if interval not in StoredInterval.values:
        raise RowError(f"interval: {interval!r} is not stored; use 1m or D (others are aggregated from them)")
    context.check_known(exchange, symbol)
    at = _timestamp(row.get("timestamp") or "", interval, context.clock(exchange))
    open_, high, low, close = (_price(row, name) for name in ("open", "high", "low", "close"))
    if high < max(open_, close, low) or low > min(open_, close):
        raise RowError(f"high/low: high {high} and low {low} do not contain open {open_} and close {close}")
    return Bar(exchange=exchange, symbol=symbol, interval=interval, timestamp=at, open=open_, high=high, low=low,
               close=close, volume=_count(row, "volume"), oi=_count(row, "oi"))


def read_rows(handle: IO[str]) -> Iterator[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(handle)
    names = [(n or "").strip().lower() for n in reader.fieldnames or []]
    missing = [n for n in REQUIRED if n not in names]
    if missing:
        raise CsvError(f"the header lacks {', '.join(missing)} (needs {', '.join(REQUIRED)}; "
                       "interval, volume and oi are optional)")
    reader.fieldnames = names
    for row in reader:
        yield reader.line_num, row


def _upsert(batch: dict[tuple, Bar]) -> None:
    with transaction.atomic():
        Bar.objects.bulk_create(list(batch.values()), update_conflicts=True,
                                unique_fields=["symbol", "exchange", "interval", "timestamp"], update_fields=_UPDATED)


def import_bars(rows: Iterable[tuple[int, dict[str, str]]], *, interval: str = StoredInterval.MINUTE,
                batch_size: int = 2000, progress: Callable[[int], None] | None = None) -> ImportReport:
    """Upsert good rows in batches (a later row for the same bar wins); report the bad ones."""
    report, context = ImportReport(), _Context()
    batch: dict[tuple, Bar] = {}
    for line, row in rows:
        report.rows += 1
        try:
            bar = parse_row(row, interval, context)
        except RowError as exc:
            report.skipped.append((line, str(exc)))
        else:
            batch[(bar.symbol, bar.exchange, bar.interval, bar.timestamp)] = bar
            if len(batch) >= batch_size:
                _upsert(batch)
                report.stored += len(batch)
                batch = {}
        if progress:
            progress(1)
    if batch:
        _upsert(batch)
        report.stored += len(batch)
    return report


def export_queryset(*, exchange: str | None = None, symbol: str | None = None, interval: str | None = None,
                    start: dt.date | None = None, end: dt.date | None = None):
    bars = Bar.objects.all()
    if exchange:
        bars = bars.filter(exchange=exchange.upper())
    if symbol:
        bars = bars.filter(symbol=symbol.upper())
    if interval:
        bars = bars.filter(interval=interval)
    # Dates are the exchange's own; across exchanges, the platform's zone (all of India's agree).
    zone = exchange_clock(exchange, start or dt.date.today()).zone if exchange else ZoneInfo(settings.TIME_ZONE)
    if start:
        bars = bars.filter(timestamp__gte=dt.datetime.combine(start, dt.time.min, zone))
    if end:
        bars = bars.filter(timestamp__lt=dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, zone))
    return bars.order_by("symbol", "exchange", "interval", "timestamp")  # the unique index's order


def _plain(price: Decimal) -> str:
    return f"{price.normalize():f}"  # 812.5, 100 (no trailing zeros, no exponent)


def export_bars(bars, out: IO[str], *, progress: Callable[[int], None] | None = None) -> int:
    """Write bars as CSV in the import's format (times in each exchange's zone); returns the count."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    clocks: dict[str, ExchangeClock] = {}
    count = 0
    for bar in bars.iterator(chunk_size=5000):
        if bar.exchange not in clocks:
            clocks[bar.exchange] = exchange_clock(bar.exchange, dt.date.today())
        local = bar.timestamp.astimezone(clocks[bar.exchange].zone)
        when = local.date().isoformat() if bar.interval == StoredInterval.DAY else local.isoformat()
        writer.writerow([bar.exchange, bar.symbol, bar.interval, when, *(_plain(p) for p in
                         (bar.open, bar.high, bar.low, bar.close)), bar.volume, bar.oi])
        count += 1
        if progress and count % 1000 == 0:
            progress(1000)
    if progress:
        progress(count % 1000)
    return count
