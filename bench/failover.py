"""Benchmark of the broker health check, failover, and market-data fallback.

    .venv/bin/python bench/failover.py                               # a scratch SQLite under var/bench-failover/
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/algodesk_failover_bench .venv/bin/python bench/failover.py

1. USERS users with ACCOUNTS openalgo accounts each, spread over four loopback upstreams (real HTTP on
   sockets, tests/brokers/loopback_upstream.py). Times health.run_checks() with every upstream answering
   and counts its statements (target: a run over 600 accounts well inside the 30 s interval).
2. Stops the upstream that holds a quarter of the primaries and times the runs until they failed over
   (BROKER_FAILOVER_AFTER_FAILURES runs), then starts it again and times the fail-back runs.
3. A "silent" upstream that accepts connections and never answers: its accounts each cost the ping
   timeout, run BROKER_HEALTH_CHECK_CONCURRENCY at a time. Times a run with SILENT such accounts.
4. Market-data reads through FallbackReader: one quote with the primary answering, and with the
   primary down (refused) so the read falls back.

Use a database of its own: the script migrates it and deletes its own bench users first.
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def prepare_environment() -> None:
    os.environ.setdefault("ALGODESK_VAR_DIR", str(ROOT / "var" / "bench-failover"))
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def timed_runs(times: int) -> tuple[list[float], object]:
    from brokers.services import health

    samples, summary = [], None
    for _ in range(times):
        started = time.perf_counter()
        summary = health.run_checks()
        samples.append(time.perf_counter() - started)
    return samples, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--accounts", type=int, default=3, help="accounts per user")
    parser.add_argument("--silent", type=int, default=32, help="accounts on an upstream that never answers")
    args = parser.parse_args()
    prepare_environment()

    from django.conf import settings
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from brokers.models import FailoverEvent, TradingAccount
    from brokers.services import health
    from brokers.services.accounts import make_primary
    from brokers.services.marketdata import FallbackReader
    from tests.brokers.loopback_upstream import API_KEY, LoopbackUpstream

    settings.BROKER_HEALTH_CHECK_TIMEOUT = 1.0
    User.objects.filter(username__startswith="bench-failover-").delete()
    servers = [LoopbackUpstream(f"up{i}") for i in range(4)]
    users = User.objects.bulk_create([User(username=f"bench-failover-{i}", email=f"bench-failover-{i}@example.com",
                                           role="trader") for i in range(args.users)])
    rows = []
    for i, user in enumerate(users):
        for j in range(args.accounts):
            server = servers[(i + j) % len(servers)]  # user i's primary lives on upstream i % 4
            rows.append(TradingAccount(user=user, name=f"a{j}", broker="openalgo", priority=j + 1,
                                       credentials={"host_url": server.url, "api_key": API_KEY}))
    TradingAccount.objects.bulk_create(rows)
    for user in users:
        make_primary(TradingAccount.objects.get(user=user, priority=1))
    total = len(rows)
    print(f"{args.users} users x {args.accounts} accounts = {total} accounts on {len(servers)} loopback upstreams; "
          f"concurrency {settings.BROKER_HEALTH_CHECK_CONCURRENCY}, timeout {settings.BROKER_HEALTH_CHECK_TIMEOUT} s, "
          f"database {connection.vendor}")

    samples, summary = timed_runs(3)
    print(f"1. all healthy: run median {ms(statistics.median(samples))} "
          f"({ms(statistics.median(samples) / total)} per account); {summary}")
    reset_queries()
    with CaptureQueriesContext(connection) as queries:
        timed_runs(1)
    print(f"   statements per run: {len(queries)} ({len(queries) / total:.2f} per account)")
    accounts = list(TradingAccount.objects.filter(user__in=users))
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=settings.BROKER_HEALTH_CHECK_CONCURRENCY) as pool:
        list(pool.map(health.ping, accounts))
    pings = time.perf_counter() - started
    print(f"   of which the pings alone (HTTP to the in-process upstreams, which share this process's CPU): "
          f"{ms(pings)}; recording and deciding: {ms(statistics.median(samples) - pings)} "
          f"({ms((statistics.median(samples) - pings) / total)} per account)")

    servers[0].stop()
    outage = time.perf_counter()
    samples, summary = timed_runs(settings.BROKER_FAILOVER_AFTER_FAILURES)
    failed_over = FailoverEvent.objects.filter(user__in=users, kind="failover", success=True).count()
    print(f"2. upstream 0 down: {settings.BROKER_FAILOVER_AFTER_FAILURES} runs, "
          f"median {ms(statistics.median(samples))}, "
          f"last: {summary}; {failed_over} users failed over, "
          f"{ms(time.perf_counter() - outage)} of runs from the outage (the schedule adds its interval per run)")
    servers[0].start()
    samples, summary = timed_runs(settings.BROKER_FAILBACK_AFTER_SUCCESSES)
    failed_back = FailoverEvent.objects.filter(user__in=users, kind="failback", success=True).count()
    print(f"   upstream 0 back: {settings.BROKER_FAILBACK_AFTER_SUCCESSES} runs, median "
          f"{ms(statistics.median(samples))}; {failed_back} users failed back")

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1024)  # connections complete in the backlog; nothing ever answers
    silent_url = f"http://127.0.0.1:{silent.getsockname()[1]}"
    quiet_user = User.objects.create(username="bench-failover-silent", email="bench-failover-silent@example.com",
                                     role="trader")
    TradingAccount.objects.bulk_create([
        TradingAccount(user=quiet_user, name=f"s{i}", broker="openalgo", priority=i + 1,
                       credentials={"host_url": silent_url, "api_key": API_KEY}) for i in range(args.silent)])
    samples, summary = timed_runs(1)
    print(f"3. with {args.silent} silent accounts: run {ms(samples[0])}; {summary}")
    TradingAccount.objects.filter(user=quiet_user).update(is_active=False)
    silent.close()

    primary = TradingAccount.objects.get(user=users[1], is_primary=True)

    def quote_times(n: int = 200) -> list[float]:
        times = []
        for _ in range(n):
            started = time.perf_counter()
            FallbackReader(primary).read(lambda adapter: adapter.quotes("NSE", "SBIN"))
            times.append(time.perf_counter() - started)
        return times

    up = quote_times()
    servers[1].stop()
    down = quote_times()
    servers[1].start()
    print(f"4. a quote through FallbackReader: primary answering median {ms(statistics.median(up))}; "
          f"primary down (refused, falls back) median {ms(statistics.median(down))}")
    for server in servers:
        server.stop()
    User.objects.filter(username__startswith="bench-failover-").delete()


if __name__ == "__main__":
    main()
