"""Benchmark of retention: archive, then delete, 1,000,000 traffic-log rows on PostgreSQL while orders flow.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/algodesk_bench REDIS_URL=redis://127.0.0.1:6379/1 \\
        .venv/bin/python bench/retention.py --rows 1000000 --batch-size 5000

Seeds the traffic log with --rows rows older than the policy's 90 days (and --keep newer ones that must
stay), starts gunicorn, and measures placeorder latency (analyze mode, one keep-alive client) three ways:
before the run, during `manage.py retention run --policy analytics.traffic` (a process of its own, exactly
as an operator runs it; the policy set to archive), and after it. Prints the run's total time, its batches
and the longest batch transaction (targets: at most 30 s and 250 ms), placeorder's percentiles during the
run against without it (before and after together, so drift hits both), and checks that every old row is
in the archive and no newer row left.

Use a database of its own: the script migrates it, empties the traffic log and its archive, and writes
orders into it.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.order_path import order_bodies, pct, prepare_environment, run_load, setup_data, start_gunicorn, stop  # noqa: E402


def seed(rows: int, keep: int) -> None:
    """Fill the traffic log in one statement per part (generate_series): old rows spread over 91-180 days
    ago, in id order as they would have been written, then the newer rows that must stay."""
    from django.db import connections

    from analytics.models import TrafficLog, TrafficLogArchive
    from analytics.routers import logs_db

    with connections[logs_db()].cursor() as cursor:
        cursor.execute(f"TRUNCATE {TrafficLog._meta.db_table}, {TrafficLogArchive._meta.db_table}")
        for count, oldest, newest in ((rows, 180, 91), (keep, 89, 0)):
            cursor.execute(
                f"INSERT INTO {TrafficLog._meta.db_table} (timestamp, client_ip, method, path, status, duration_ms,"
                " host, user_id, username, request_size, response_size, error) "
                "SELECT now() - make_interval(secs => (%s - (%s - %s) * g::float8 / %s) * 86400), '203.0.113.9',"
                " 'POST', '/api/v1/placeorder', 200, 2.5, 'desk.example.com', 1, 'bench', 180, 64, ''"
                " FROM generate_series(1, %s) AS g", [oldest, oldest, newest, max(count, 1), count])
        cursor.execute(f"VACUUM ANALYZE {TrafficLog._meta.db_table}")


def latency(url: str, keys: list[str], requests: int) -> list[float]:
    latencies, _, errors = run_load(url, "/api/v1/placeorder", order_bodies(keys, requests))
    if errors:
        print(f"  {errors} placeorder errors", file=sys.stderr)
    return [v * 1000 for v in latencies]


def during(url: str, keys: list[str]) -> tuple[list[float], str, float]:
    """placeorder in rounds of 50 while `manage.py retention run` works; returns (latencies, its output, wall s)."""
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "manage.py", "retention", "run", "--policy", "analytics.traffic"],
                            cwd=ROOT, env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    ms: list[float] = []
    while proc.poll() is None:
        ms += latency(url, keys, 50)
    output = proc.stdout.read()
    return ms, output, time.monotonic() - started


def line(title: str, ms: list[float]) -> str:
    return (f"{title}: {len(ms)} requests, ms p50 {pct(ms, 50):.2f}  p90 {pct(ms, 90):.2f}  p99 {pct(ms, 99):.2f}  "
            f"max {max(ms):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="old rows to archive and delete")
    parser.add_argument("--keep", type=int, default=20_000, help="newer rows that must stay")
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=1000, help="placeorder requests before and after the run")
    args = parser.parse_args()

    prepare_environment()
    import django

    django.setup()
    from django.conf import settings

    from analytics.models import TrafficLog, TrafficLogArchive
    from analytics.routers import logs_db
    from maintenance.models import RetentionPolicy

    if not settings.DATABASES[logs_db()]["ENGINE"].endswith("postgresql"):
        raise SystemExit("bench/retention.py measures PostgreSQL: set DATABASE_URL (and LOGS_DATABASE_URL, if any)")
    keys, _ = setup_data(1)
    RetentionPolicy.objects.filter(target="analytics.traffic").update(
        keep_days=90, action="archive", batch_size=args.batch_size, enabled=True, running_until=None)
    t0 = time.monotonic()
    seed(args.rows, args.keep)
    print(f"seeded {args.rows} old and {args.keep} newer traffic rows in {time.monotonic() - t0:.1f} s; "
          f"batches of {args.batch_size}; cores: {os.cpu_count()}")

    server = None
    try:
        server, url = start_gunicorn("config.wsgi:application", 2, 1)
        latency(url, keys, 200)  # warm up
        before = latency(url, keys, args.requests)
        ms, output, wall = during(url, keys)
        after = latency(url, keys, args.requests)
    finally:
        stop(server)

    summary = next((row for row in output.splitlines() if row.startswith("retention analytics.traffic")), output)
    print(f"retention run: {summary.strip()}  (process wall time {wall:.1f} s)")
    found = re.search(r"in (\d+) batches, ([\d.]+) s, batch median (\d+) ms, longest batch (\d+) ms", summary)
    if found:
        batches, seconds, median, longest = int(found[1]), float(found[2]), int(found[3]), int(found[4])
        print(f"total {seconds:.1f} s (target at most 30 s: {'met' if seconds <= 30 else 'MISSED'}), "
              f"{args.rows / max(seconds, 1e-9):,.0f} rows/s; batch transactions: median {median} ms, longest "
              f"{longest} ms (target at most 250 ms: {'met' if longest <= 250 else 'MISSED'}) over {batches} batches")
    without = before + after
    print(line("placeorder without retention (before + after)", without))
    print(line("placeorder during retention               ", ms))
    print(f"difference during - without: p50 {pct(ms, 50) - pct(without, 50):+.2f} ms  "
          f"p90 {pct(ms, 90) - pct(without, 90):+.2f} ms  p99 {pct(ms, 99) - pct(without, 99):+.2f} ms")
    archived = TrafficLogArchive.objects.using(logs_db()).count()
    old_left = TrafficLog.objects.using(logs_db()).filter(path="/api/v1/placeorder", username="bench",
                                                          host="desk.example.com").count()
    print(f"check: {archived} rows in the archive (expected {args.rows}); {old_left} seeded rows left in the "
          f"traffic log (expected the {args.keep} newer ones)")


if __name__ == "__main__":
    main()
