"""Benchmark of what the traffic and API logs cost a placeorder request, measured side by side in one run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/algodesk_bench REDIS_URL=redis://127.0.0.1:6379/1 \\
        .venv/bin/python bench/analytics.py --rounds 30 --per-round 100

Starts two gunicorn servers on the same database, cache and settings, one with TRAFFIC_LOG_ENABLED and
API_LOG_ENABLED on and one with them off (IP bans stay on in both), and sends placeorder requests (analyze
mode: the sandbox fills them) from one keep-alive client, alternating between the servers in rounds (the
order flips each round), so drift in the machine's speed hits both alike. Prints latency percentiles of
each and the difference, checks that the logged server's rows reached the log tables, and times the part
the request path itself runs (the middleware's record hand-over) and the writer's cost per record.

Use a database of its own (the script migrates it, the logs database too, and writes orders into it).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.order_path import order_bodies, pct, prepare_environment, run_load, setup_data, start_gunicorn, stop  # noqa: E402


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


def request_path_cost(samples: int) -> tuple[float, float]:
    """Microseconds per request the middleware itself spends handing over a placeorder's records, and the
    writer's microseconds per record (redaction, JSON and the bulk insert), both in this process."""
    import json

    from django.http import HttpResponse
    from django.test import RequestFactory

    from analytics import buffer
    from analytics.middleware import RequestLogMiddleware

    body = json.dumps({"apikey": "0123456789ab." + "x" * 43, "strategy": "bench", "exchange": "NSE",
                       "symbol": "SBIN", "action": "BUY", "quantity": "1", "pricetype": "MARKET", "product": "CNC"})
    answer = HttpResponse(b'{"status":"success","orderid":"2612011234567","mode":"analyze"}',
                          content_type="application/json")
    middleware = RequestLogMiddleware(lambda request: answer)
    factory = RequestFactory()
    requests = [factory.post("/api/v1/placeorder", body, content_type="application/json") for _ in range(samples)]
    buffer.buffer.discard()
    started = time.perf_counter()
    for request in requests:
        middleware(request)
    on_path = (time.perf_counter() - started) / samples * 1e6
    records = buffer.pending()
    started = time.perf_counter()
    buffer.flush()
    writer = (time.perf_counter() - started) / max(1, records) * 1e6
    return on_path, writer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--per-round", type=int, default=100, help="requests to each server per round")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    prepare_environment()
    os.environ["LOG_FLUSH_SECONDS"] = "0"  # this process flushes by hand (request_path_cost)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from analytics.models import ApiLog, TrafficLog
    from analytics.routers import logs_db

    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(f"database: {engine}  logs: {logs_db()} ({settings.DATABASES[logs_db()]['ENGINE'].rsplit('.', 1)[-1]})  "
          f"cache: {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}  cores: {os.cpu_count()}  "
          f"gunicorn: {args.workers} worker(s) x {args.threads} thread(s) per server")
    keys, _ = setup_data(1)
    if logs_db() != "default":
        call_command("migrate", database=logs_db(), verbosity=0)
    os.environ["LOG_FLUSH_SECONDS"] = "1.0"  # the servers write as in production
    logged = plain = None
    try:
        logged, logged_url = start(True, args.workers, args.threads)
        plain, plain_url = start(False, args.workers, args.threads)
        for url in (logged_url, plain_url):
            run_load(url, "/api/v1/placeorder", order_bodies(keys, 50))  # warm caches and workers
        time.sleep(2)
        rows_before = TrafficLog.objects.count(), ApiLog.objects.count()
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
    on_path, writer = request_path_cost(2000)
    print(f"in process: the middleware's hand-over {on_path:.1f} µs per request; the writer {writer:.1f} µs per "
          f"record, off the request path")


if __name__ == "__main__":
    main()
