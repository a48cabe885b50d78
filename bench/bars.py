"""Benchmark of market-data bars: the tick upsert and history reads at a year of 1-minute bars.

    .venv/bin/python bench/bars.py                                  # a scratch SQLite under var/bench-bars/
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/algodesk_bars_bench .venv/bin/python bench/bars.py

1. Stores a year of NSE session minutes (250 days x 375) for one instrument with the import's upsert.
2. Times ticks into a 1-minute bar: the upsert alone (record_tick, each its own transaction) and the
   whole price-store write (set_price: the LastPrice row, its lock and the bar).
3. Times history reads at every aggregation shape: 1m over a day, 5m over a week, 1h over a month,
   D over a year, each the median of repeated runs.

Use a database of its own: the script migrates it and replaces its own instrument's rows.
"""
from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SYMBOL = "BENCHBARS"
DAYS, MINUTES = 250, 375


def prepare_environment() -> None:
    os.environ.setdefault("ALGODESK_VAR_DIR", str(ROOT / "var" / "bench-bars"))
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def sessions(last: dt.date) -> list[dt.date]:
    days, day = [], last
    while len(days) < DAYS:
        if day.weekday() < 5:
            days.append(day)
        day -= dt.timedelta(days=1)
    return sorted(days)


def timed(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    prepare_environment()
    from django.db import connection, transaction

    from marketdata.models import Bar
    from marketdata.services import csvio, ticks
    from marketdata.services.history import history
    from sandbox.models import LastPrice
    from sandbox.services.prices import set_price

    ist = dt.timezone(dt.timedelta(hours=5, minutes=30))
    days = sessions(dt.date(2026, 11, 27))
    Bar.objects.filter(symbol=SYMBOL).delete()
    LastPrice.objects.filter(symbol=SYMBOL).delete()

    rows = ((n, {"exchange": "NSE", "symbol": SYMBOL, "timestamp": (dt.datetime.combine(
        day, dt.time(9, 15), ist) + dt.timedelta(minutes=m)).isoformat(), "open": "800", "high": "801.5",
        "low": "799", "close": f"{800 + (m % 7) / 4}", "volume": "100"})
        for n, (day, m) in enumerate(((d, m) for d in days for m in range(MINUTES)), start=2))
    start = time.perf_counter()
    report = csvio.import_bars(rows, batch_size=5000)
    took = time.perf_counter() - start
    print(f"[{connection.vendor}] imported {report.stored:,} one-minute bars in {took:.1f} s "
          f"({report.stored / took:,.0f} rows/s)")

    tick_day = days[-1] + dt.timedelta(days=3)
    counter = iter(range(10**6))

    def one_upsert():
        with transaction.atomic():
            n = next(counter)
            ticks.record_tick("NSE", SYMBOL, dt.datetime.combine(tick_day, dt.time(9, 15), ist)
                              + dt.timedelta(seconds=n % 3600), Decimal("800") + n % 20, volume=5)

    def one_price():
        n = next(counter)
        set_price("NSE", SYMBOL, Decimal("800") + n % 20, at=dt.datetime.combine(tick_day, dt.time(11, 0), ist)
                  + dt.timedelta(seconds=n % 3600), volume=n, match=False)

    print(f"tick upsert alone (own transaction): median {timed(one_upsert, 2000):.3f} ms over 2000")
    print(f"set_price with its bar (row lock, LastPrice, bar, cache): median {timed(one_price, 1000):.3f} ms "
          "over 1000")

    last = days[-1]
    for interval, first in [("1m", last), ("5m", days[-5]), ("1h", days[-21]), ("D", days[0])]:
        candles = history("NSE", SYMBOL, interval, first, last)
        ms = timed(lambda i=interval, f=first: history("NSE", SYMBOL, i, f, last), 7)
        minutes = len({d for d in days if first <= d <= last}) * MINUTES
        print(f"history {interval:>2} over {minutes:>6,} one-minute bars -> {len(candles):>5,} candles: "
              f"median {ms:7.1f} ms")


if __name__ == "__main__":
    main()
