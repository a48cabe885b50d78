"""Benchmark of the latency report (analytics.services.latency) over 1,000,000 orders on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/algodesk_approvals \\
        .venv/bin/python bench/latency.py --orders 1000000 --runs 5

It creates a throwaway database beside DATABASE_URL's (`<name>_latency_bench`), migrates it, fills
it in SQL (generate_series: 50 users, a live account each, 30 IST days; 10% risk refusals without a
broker time), then times the report as an operator (all orders of the 30 days) and as one trader
(their own), ungrouped and grouped, and prints the median of the runs, the query plan of the
operator's report and whether it sorted in memory. The database is dropped at the end unless --keep.
This is the exact report straight from the orders (analytics.services.latency); the API answers closed
days from daily rollups instead, and bench/analytics.py compares the two.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DAYS = 30


def backend_cpu_ms() -> float | None:
    """CPU time the database backend of this connection has used (user + system), from /proc: unlike
    wall time, it does not grow when other processes share the cores."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # the server runs elsewhere
        return None
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def timed(label: str, runs: int, call) -> float:
    call()  # warm the cache
    times, cpu = [], []
    for _ in range(runs):
        cpu_before = backend_cpu_ms()
        started = time.perf_counter()
        rows = call()
        times.append((time.perf_counter() - started) * 1000)
        cpu_after = backend_cpu_ms()
        if cpu_before is not None and cpu_after is not None:
            cpu.append(cpu_after - cpu_before)
    median = statistics.median(times)
    cpu_text = f"; database CPU {statistics.median(cpu):6.0f} ms" if cpu else ""
    print(f"{label:<46} wall median {median:7.1f} ms (min {min(times):.1f}){cpu_text}; {len(rows)} rows")
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="Keep the throwaway database (and reuse it next run).")
    args = parser.parse_args()
    from bench.order_path import prepare_environment
    from bench.seed import seed_orders, throwaway_database

    with throwaway_database("_latency_bench", keep=args.keep):
        prepare_environment()  # production settings, development secrets under var/bench/
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        from trading.models import Order

        if not Order.objects.exists():
            seed_orders(args.orders, days=DAYS)
        run(args.runs)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('trading_order'))")
            print(f"trading_order: {Order.objects.count():,} rows, {cursor.fetchone()[0]}")


def run(runs: int) -> None:
    import datetime as dt

    from django.db import connection

    from accounts.models import User
    from analytics.services.latency import LatencyQuery, latency_report, measured_orders
    from bench.seed import PREFIX
    from trading.models import Order

    until = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    everyone = Order.objects.all()
    mine = Order.objects.for_user(User.objects.get(username=f"{PREFIX}7"))
    figures = {}
    for days in (DAYS, 1):
        since = until - dt.timedelta(days=days, minutes=2)
        print(f"range {days} day(s): {everyone.filter(placed_at__gte=since).count():,} orders, one trader's "
              f"{mine.filter(placed_at__gte=since).count():,}")
        for who, orders in (("operator", everyone), ("trader", mine)):
            for group_by in ((), ("broker",), ("day",), ("broker", "user", "day")):
                query = LatencyQuery(since=since, until=until, group_by=group_by)
                label = f"{who}, {days}d, group_by={','.join(group_by) or '-'}"
                figures[label] = timed(label, runs, lambda o=orders, q=query: latency_report(o, q))
    since = until - dt.timedelta(days=DAYS, minutes=2)
    query = LatencyQuery(since=since, until=until)
    timed(f"operator, {DAYS}d, window-function path", 1, lambda: latency_report(everyone, query, portable=True))
    with connection.cursor() as cursor:
        sql, params = measured_orders(everyone, query).values("ms").query.sql_with_params()
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) SELECT percentile_cont(ARRAY[0.5, 0.9, 0.95, 0.99]) "
                       f"WITHIN GROUP (ORDER BY ms) FROM ({sql}) t", params)
        print(f"plan of the operator's {DAYS}-day report:")
        for (line,) in cursor.fetchall():
            print("   ", line)
    with open("/proc/loadavg") as load:
        print(f"load average while measuring: {load.read().split()[:3]}")
    for label, value in figures.items():
        if label.startswith("operator"):
            print(f"{label:<46} {value:7.1f} ms: {'OK' if value <= 300 else 'OVER'} (target 300 ms)")


if __name__ == "__main__":
    main()
