"""Benchmarks of the analytics issue over 1,000,000 orders on PostgreSQL, in a database of their own.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/algodesk_bench REDIS_URL=redis://127.0.0.1:6379/1 \\
        .venv/bin/python bench/analytics.py --orders 1000000 --runs 7 --keep

It creates `<DATABASE_URL's name>_analytics_bench` beside the configured database (with --keep: reused,
and left for the next run), migrates it and seeds the orders in SQL (bench/seed.py: 50 users, 30 days
ending now) when it has none. Then, as `--only` selects:

- latency: rolls the closed days (analytics.services.rollup), then times the latency report over the last
  30 days straight from the orders (percentile_cont) and from the rollups plus today's live histogram,
  alternating the two within each run, and prints how far the rolled percentiles are from the exact
  ones (target: at most 300 ms);
- admin: times the admin's first screen and the order list (plain, filtered, a later page) in process
  with Django's test client as a signed-in, verified superuser, and counts their queries (target: at
  most 300 ms, a fixed number of queries);
- logging: what the traffic and API logs cost a placeorder request: two gunicorn servers on the same
  database, cache and settings, one with TRAFFIC_LOG_ENABLED and API_LOG_ENABLED on and one with them
  off (IP bans stay on in both); placeorder requests (analyze mode: the sandbox fills them) from one
  keep-alive client alternate between the servers in rounds (the order flips each round), so drift in
  the machine's speed hits both alike; it prints both sides' percentiles and their difference, checks
  that the logged server's rows reached the log tables, and times the part the request path itself runs
  (the middleware's record hand-over) and the writer's cost per record (target: at most 0.3 ms at p50).

The machine may be shared: every comparison alternates its sides, and the database backend's CPU time
is printed beside wall time where it applies.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.analytics_reports import SECTIONS, admin_pages, latency_figures, load_average  # noqa: E402
from bench.order_path import (  # noqa: E402
    order_bodies,
    pct,
    prepare_environment,
    run_load,
    setup_data,
    start_gunicorn,
    stop,
)
from bench.seed import seed_orders, throwaway_database  # noqa: E402


def start(logging_on: bool, workers: int, threads: int):
    flag = "true" if logging_on else "false"
    saved = {name: os.environ.get(name) for name in ("TRAFFIC_LOG_ENABLED", "API_LOG_ENABLED")}
    os.environ["TRAFFIC_LOG_ENABLED"] = os.environ["API_LOG_ENABLED"] = flag
    try:
        return start_gunicorn("config.wsgi:application", workers, threads)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def line(title: str, ms: list[float]) -> str:
    return (f"{title}: {len(ms)} requests, latency ms p50 {pct(ms, 50):.3f}  p90 {pct(ms, 90):.3f}  "
            f"p99 {pct(ms, 99):.3f}")


def request_path_cost(samples: int) -> tuple[float, float, float]:
    """CPU microseconds (this process) per placeorder the middleware spends with logging on and off (the
    hand-over of its records is the difference), and the writer's per record (redaction, the insert)."""
    import json

    from django.http import HttpResponse
    from django.test import RequestFactory, override_settings

    from analytics import buffer
    from analytics.middleware import RequestLogMiddleware

    body = json.dumps({"apikey": "0123456789ab." + "x" * 43, "strategy": "bench", "exchange": "NSE",
                       "symbol": "SBIN", "action": "BUY", "quantity": "1", "pricetype": "MARKET", "product": "CNC"})
    answer = HttpResponse(b'{"status":"success","orderid":"2612011234567","mode":"analyze"}',
                          content_type="application/json")
    factory = RequestFactory()
    buffer.buffer.discard()
    cpu = {}
    for logging_on in (False, True, False, True):  # alternated; the second pair counts
        requests = [factory.post("/api/v1/placeorder", body, content_type="application/json")
                    for _ in range(samples)]
        with override_settings(TRAFFIC_LOG_ENABLED=logging_on, API_LOG_ENABLED=logging_on):
            middleware = RequestLogMiddleware(lambda request: answer)
            started = time.process_time()
            for request in requests:
                middleware(request)
            cpu[logging_on] = (time.process_time() - started) / samples * 1e6
        if not logging_on:
            buffer.buffer.discard()  # IP bans' not-found counting only: nothing to write
    records = buffer.pending()
    started = time.process_time()
    buffer.flush()
    writer = (time.process_time() - started) / max(1, records) * 1e6
    return cpu[True], cpu[False], writer


def server_cpu_ms(proc) -> float:
    """CPU time (user + system) a gunicorn server's processes have used so far, writer threads included."""
    import psutil

    master = psutil.Process(proc.pid)
    return sum(p.cpu_times().user + p.cpu_times().system for p in [master, *master.children(recursive=True)]) * 1000


def logging_cost(args: argparse.Namespace) -> None:
    from django.conf import settings
    from django.core.management import call_command

    from analytics.models import ApiLog, TrafficLog
    from analytics.routers import logs_db

    print(f"\n== logging: gunicorn {args.workers} worker(s) x {args.threads} thread(s) per server")
    os.environ["LOG_FLUSH_SECONDS"] = "0"  # this process flushes by hand (request_path_cost)
    keys, _ = setup_data(1)
    if logs_db() != "default":
        call_command("migrate", database=logs_db(), verbosity=0)
    print(f"logs: {logs_db()} ({settings.DATABASES[logs_db()]['ENGINE'].rsplit('.', 1)[-1]})")
    os.environ["LOG_FLUSH_SECONDS"] = "1.0"  # the servers write as in production
    logged = plain = None
    try:
        logged, logged_url = start(True, args.workers, args.threads)
        plain, plain_url = start(False, args.workers, args.threads)
        for url in (logged_url, plain_url):
            run_load(url, "/api/v1/placeorder", order_bodies(keys, 50))  # warm caches and workers
        time.sleep(2)
        rows_before = TrafficLog.objects.count(), ApiLog.objects.count()
        cpu_before = server_cpu_ms(logged), server_cpu_ms(plain)
        on: list[float] = []
        off: list[float] = []
        paired: list[float] = []  # per round: p50 with logging - p50 without (drift cancels within a round)
        errors = 0
        for number in range(args.rounds):
            order = [(logged_url, on), (plain_url, off)]
            medians = {}
            for url, into in order if number % 2 == 0 else reversed(order):
                latencies, _, failed = run_load(url, "/api/v1/placeorder", order_bodies(keys, args.per_round))
                ms = [v * 1000 for v in latencies]
                into.extend(ms)
                medians[url] = pct(ms, 50)
                errors += failed
            paired.append(medians[logged_url] - medians[plain_url])
        time.sleep(3)  # the logged server's writer writes its last batch
        cpu = server_cpu_ms(logged) - cpu_before[0], server_cpu_ms(plain) - cpu_before[1]
        rows = TrafficLog.objects.count() - rows_before[0], ApiLog.objects.count() - rows_before[1]
    finally:
        stop(logged)
        stop(plain)
    print(line("placeorder, logging on ", on))
    print(line("placeorder, logging off", off))
    print(f"cost of logging: p50 {pct(on, 50) - pct(off, 50):+.3f} ms  p90 {pct(on, 90) - pct(off, 90):+.3f} ms  "
          f"p99 {pct(on, 99) - pct(off, 99):+.3f} ms  (target: at most 0.3 ms at p50); {errors} errors")
    print(f"paired by round: median of the rounds' p50 differences {pct(paired, 50):+.3f} ms "
          f"(rounds' range {min(paired):+.3f} to {max(paired):+.3f})")
    print(f"rows written by the logged server: {rows[0]} traffic, {rows[1]} API (expected {len(on)} each)")
    per_on, per_off = cpu[0] / len(on) * 1000, cpu[1] / len(off) * 1000
    print(f"server CPU per request (all its processes and threads, the log writer included): logging on "
          f"{per_on:.0f} µs, off {per_off:.0f} µs: logging costs {per_on - per_off:+.0f} µs of CPU per request")
    on_path, off_path, writer = request_path_cost(5000)
    print(f"in process (CPU time): the request log middleware {on_path:.1f} µs per request with logging on, "
          f"{off_path:.1f} µs off (the hand-over: {on_path - off_path:.1f} µs); the writer {writer:.1f} µs per "
          f"record, two records per placeorder, off the request path")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"Comma-separated among {', '.join(SECTIONS)}.")
    parser.add_argument("--orders", type=int, default=1_000_000, help="Orders seeded into a fresh database.")
    parser.add_argument("--runs", type=int, default=7, help="Timed runs of each report and page.")
    parser.add_argument("--keep", action="store_true", help="Keep the database (and reuse it next run).")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--per-round", type=int, default=100, help="requests to each server per round")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    if unknown := set(only) - set(SECTIONS):
        parser.error(f"--only: unknown section(s) {', '.join(sorted(unknown))}")

    with throwaway_database("_analytics_bench", keep=args.keep):
        prepare_environment()
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        from trading.models import Order

        call_command("migrate", verbosity=0)
        if not Order.objects.exists():
            seed_orders(args.orders)
        print(f"database: {settings.DATABASES['default']['NAME']}, {Order.objects.count():,} orders;  cache: "
              f"{settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]};  cores: {os.cpu_count()};  "
              f"load average {load_average()}")
        if "latency" in only:
            latency_figures(args.runs)
        if "admin" in only:
            admin_pages(args.runs)
        if "logging" in only:
            logging_cost(args)
        print(f"load average at the end: {load_average()}")


if __name__ == "__main__":
    main()
