"""Benchmark of the strategy fan-out: one webhook signal of an operator's house strategy to 100 active
deployments on the accounts of 20 users, placed by one real Celery worker on Redis and PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/algodesk_strat REDIS_URL=redis://127.0.0.1:6379/2 \\
        .venv/bin/python bench/webhook_fanout.py --rounds 20 --port 8150

It creates a throwaway database beside DATABASE_URL's (`<name>_fanout_bench`) and migrates it, then
prepares: SBIN priced in the sandbox; 20 traders with 5 trading accounts each on the "sandbox" broker
(the paper-trading engine behind a live-route account: real order rows, fills, positions, risk checks,
no network); an operator's LONG house strategy mapping SBIN x 1 deployed to all 100 accounts. It starts
gunicorn and one Celery worker (prefork, --concurrency) on the configured Redis, then:

1. fan-out: posts BUY and SELL alternately (entries and exits to flat) and times each from just before the
   request to the moment all 100 orders are in the database (the bench polls the order table every 5 ms),
   and the worker's own span (signal received -> processed);
2. webhook: posts `--deliveries` alerts (distinct idempotency keys) to a second strategy with no deployment
   and reports the response times: what a webhook costs the web process (validate, record, enqueue);
3. CPU cost: the same work in this process, timed in CPU (this process and its PostgreSQL backend), which
   does not grow when other processes share the cores: on a busy machine the wall figures above are
   mostly waiting for a core, and these say what an idle one would need.

Production settings (DEBUG off, market hours not enforced, rate limits off); the strategy's window spans
the whole day so the bench runs at any hour.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.order_path import prepare_environment, stop  # noqa: E402

USERS, ACCOUNTS_PER_USER = 20, 5


def throwaway_url(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    name = parts.path.lstrip("/") + "_fanout_bench"
    return urlunsplit(parts._replace(path="/" + name)), name


def recreate_database(base: str) -> str:
    import psycopg

    url, name = throwaway_url(base)
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    return url


def setup_data() -> tuple[str, str, list[int]]:
    """Migrate and create the market, the traders, the house strategy and its 100 deployments."""
    from decimal import Decimal

    from django.core.management import call_command

    from accounts.models import User
    from brokers.models import Instrument, TradingAccount
    from sandbox.models import SandboxConfig
    from sandbox.services.config import forget_config
    from sandbox.services.prices import set_price
    from strategies.models import Deployment, DeploymentMode, Strategy, StrategySymbol

    call_command("migrate", verbosity=0)
    late = dt.time(23, 59, 59)  # the sandbox takes MIS orders whatever the hour the bench runs at
    SandboxConfig.objects.update_or_create(pk=1, defaults={
        "squareoff_nse": late, "squareoff_cds": late, "squareoff_mcx": late, "squareoff_ncdex": late})
    forget_config()
    Instrument.objects.create(exchange="NSE", symbol="SBIN", name="SBI", underlying="SBIN", instrument_type="EQ",
                              lot_size=1, tick_size=Decimal("0.05"))
    set_price("NSE", "SBIN", "800", bid="799.95", ask="800.05")
    operator = User.objects.create_user("operator", "operator@example.com", "x", role="admin", is_staff=True)
    whole_day = {"start_time": dt.time(0, 0), "end_time": dt.time(23, 59, 58), "squareoff_time": late,
                 "trading_days": [0, 1, 2, 3, 4, 5, 6], "exchange": "CRYPTO"}  # CRYPTO's calendar never closes
    house = Strategy.objects.create(user=operator, name="house", is_house=True, **whole_day)
    StrategySymbol.objects.create(strategy=house, exchange="NSE", symbol="SBIN", quantity=Decimal("1"))
    idle = Strategy.objects.create(user=operator, name="no-deployments", **whole_day)
    StrategySymbol.objects.create(strategy=idle, exchange="NSE", symbol="SBIN", quantity=Decimal("1"))
    deployments = []
    for n in range(USERS):
        user = User.objects.create_user(f"trader{n}", f"trader{n}@example.com", "x")
        for a in range(ACCOUNTS_PER_USER):
            account = TradingAccount.objects.create(user=user, name=f"acc{a}", broker="sandbox", is_primary=a == 0)
            deployments.append(Deployment(strategy=house, user=user, mode=DeploymentMode.LIVE, account=account))
    Deployment.objects.bulk_create(deployments)
    return str(house.webhook_id), str(idle.webhook_id), [d.pk for d in Deployment.objects.filter(strategy=house)]


def start(cmd: list[str], log_path: Path) -> subprocess.Popen:
    log = open(log_path, "w")  # noqa: SIM115 - kept open for the process's life
    return subprocess.Popen(cmd, cwd=ROOT, env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT)


def wait_for_port(port: int, proc: subprocess.Popen) -> None:
    import socket

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited ({proc.returncode}); see var/bench/*.log")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing listens on port {port}")


def wait_for_worker(client, webhook: str, log_path: Path) -> None:
    """Post one delivery and wait until the worker has processed it (the worker is up and warm)."""
    from strategies.models import Signal

    deadline = time.monotonic() + 60
    answer = client.post(f"/strategy/webhook/{webhook}", content=json.dumps(
        {"symbol": "SBIN", "action": "BUY", "idempotency_key": "warm-up"}))
    signal_id = answer.json()["signal_id"]
    while time.monotonic() < deadline:
        if Signal.objects.filter(pk=signal_id, processed_at__isnull=False).exists():
            return
        time.sleep(0.1)
    raise SystemExit(f"the worker did not process the warm-up signal; see {log_path}")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def fan_out_rounds(client, webhook: str, deployment_ids: list[int], rounds: int) -> None:
    from django.db import connection

    from strategies.models import Signal

    totals, responses, spans = [], [], []
    for n in range(rounds):
        action = "SELL" if n % 2 == 0 else "BUY"  # the warm-up bought: start by exiting
        body = json.dumps({"symbol": "SBIN", "action": action, "idempotency_key": f"round-{n}"})
        t0 = time.perf_counter()
        answer = client.post(f"/strategy/webhook/{webhook}", content=body)
        responses.append((time.perf_counter() - t0) * 1000)
        signal_id = answer.json()["signal_id"]
        prefix = f"sig{signal_id}-dep%"
        deadline = t0 + 30
        while True:
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM trading_order WHERE deployment_id = ANY(%s) "
                               "AND client_order_id LIKE %s AND status <> 'PENDING'", [deployment_ids, prefix])
                done = cursor.fetchone()[0]
            if done >= len(deployment_ids):
                totals.append((time.perf_counter() - t0) * 1000)
                break
            if time.perf_counter() > deadline:
                raise SystemExit(f"round {n}: only {done} of {len(deployment_ids)} orders after 30 s")
            time.sleep(0.005)
        signal = Signal.objects.get(pk=signal_id)
        while signal.processed_at is None:
            time.sleep(0.01)
            signal.refresh_from_db()
        if signal.orders_placed != len(deployment_ids):
            raise SystemExit(f"round {n}: {signal.orders_placed} placed, {signal.orders_failed} failed: "
                             f"{signal.reason}")
        spans.append((signal.processed_at - signal.received_at).total_seconds() * 1000)
        time.sleep(0.3)  # let the worker's writes settle between rounds
    print(f"\nfan-out of one signal to {len(deployment_ids)} deployments ({USERS} users), {rounds} rounds:")
    print(f"  request -> all orders recorded: p50 {statistics.median(totals):.0f} ms, p90 {pct(totals, 90):.0f} ms, "
          f"max {max(totals):.0f} ms (target <= 1000 ms)")
    print(f"  worker span (received -> processed): p50 {statistics.median(spans):.0f} ms, max {max(spans):.0f} ms")
    print(f"  the webhook's answer in these rounds: p50 {statistics.median(responses):.1f} ms")


def webhook_latency(client, webhook: str, deliveries: int) -> None:
    times = []
    for n in range(deliveries):
        body = json.dumps({"symbol": "SBIN", "action": "BUY", "idempotency_key": f"latency-{n}"})
        t0 = time.perf_counter()
        answer = client.post(f"/strategy/webhook/{webhook}", content=body)
        times.append((time.perf_counter() - t0) * 1000)
        if answer.status_code != 200:
            raise SystemExit(f"delivery {n}: {answer.status_code} {answer.text}")
    print(f"\nwebhook response time, {deliveries} deliveries (validate, record the signal, enqueue the task):")
    print(f"  p50 {statistics.median(times):.2f} ms, p90 {pct(times, 90):.2f} ms, p99 {pct(times, 99):.2f} ms "
          f"(target p50 < 10 ms)")


def cpu_cost(house: str, idle: str, rounds: int, deliveries: int) -> None:
    """CPU time per fan-out and per delivery, in this process plus its PostgreSQL backend: unlike wall time
    it does not grow when other processes share the cores, so it bounds what an idle machine would take."""
    from django.conf import settings
    from django.test import Client

    from bench.latency import backend_cpu_ms
    from strategies.models import Signal, SignalStatus, Strategy
    from strategies.services import fanout
    from strategies.services.legs import parse_webhook

    settings.STRATEGY_FANOUT_BATCH = 1000  # all 100 deployments in this process
    strategy = Strategy.objects.get(webhook_id=house)
    spans = []
    for n in range(rounds):
        leg = parse_webhook(strategy, {"symbol": "SBIN", "action": "BUY" if n % 2 else "SELL"})[0]
        signal = Signal.objects.create(strategy=strategy, status=SignalStatus.ACCEPTED, legs=[leg.as_json()])
        cpu0, db0, wall0 = time.process_time(), backend_cpu_ms() or 0.0, time.perf_counter()
        summary = fanout.fan_out(signal.pk)
        spans.append(((time.process_time() - cpu0) * 1000 + (backend_cpu_ms() or 0.0) - db0,
                      (time.perf_counter() - wall0) * 1000))
        if " 100 placed" not in summary:
            raise SystemExit(f"in-process fan-out: {summary}")
    cpu = statistics.median(s[0] for s in spans)
    print(f"\nCPU per fan-out of 100 orders, in one process (Python + its PostgreSQL backend): p50 {cpu:.0f} ms "
          f"(wall {statistics.median(s[1] for s in spans):.0f} ms here); {cpu / 100:.1f} ms per order")
    client, costs = Client(HTTP_HOST="127.0.0.1"), []
    for n in range(deliveries):
        body = json.dumps({"symbol": "SBIN", "action": "BUY", "idempotency_key": f"cpu-{n}"})
        cpu0, db0 = time.process_time(), backend_cpu_ms() or 0.0
        answer = client.post(f"/strategy/webhook/{idle}", body, content_type="application/json")
        costs.append((time.process_time() - cpu0) * 1000 + (backend_cpu_ms() or 0.0) - db0)
        if answer.status_code != 200:
            raise SystemExit(f"delivery {n}: {answer.status_code}")
    print(f"CPU per webhook delivery (Django's middleware and view + its PostgreSQL backend): p50 "
          f"{statistics.median(costs):.2f} ms, p90 {pct(costs, 90):.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20, help="Signals fanned out to the 100 deployments.")
    parser.add_argument("--deliveries", type=int, default=300, help="Deliveries timed for the webhook's answer.")
    parser.add_argument("--concurrency", type=int, default=2, help="The worker's processes (prefork).")
    parser.add_argument("--port", type=int, default=8150, help="gunicorn's port.")
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres") or not os.environ.get("REDIS_URL"):
        sys.exit("Set DATABASE_URL (PostgreSQL; a throwaway database is made beside it) and REDIS_URL.")
    os.environ["DATABASE_URL"] = recreate_database(base)
    prepare_environment()
    import django

    django.setup()
    import httpx

    house, idle, deployment_ids = setup_data()
    var = Path(os.environ["ALGODESK_VAR_DIR"])
    server = worker = None
    try:
        server = start([str(ROOT / ".venv" / "bin" / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{args.port}",
                        "--workers", "2", "--threads", "4", "--worker-class", "gthread", "--log-level", "warning"],
                       var / "fanout-gunicorn.log")
        # Tasks left in the queue by an earlier run name rows of a database that is gone: drop them.
        subprocess.run([sys.executable, "-m", "celery", "-A", "config", "purge", "-f"], cwd=ROOT,
                       env=os.environ.copy(), capture_output=True, check=True)
        worker = start([sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=prefork",
                        f"--concurrency={args.concurrency}", "--without-gossip", "--without-mingle",
                        "--loglevel=WARNING"], var / "fanout-worker.log")
        wait_for_port(args.port, server)
        with httpx.Client(base_url=f"http://127.0.0.1:{args.port}", timeout=30,
                          headers={"Content-Type": "application/json"}) as client:
            wait_for_worker(client, house, var / "fanout-worker.log")
            print(f"database {os.environ['DATABASE_URL'].rsplit('/', 1)[1]}, Redis {os.environ['REDIS_URL']}, "
                  f"worker concurrency {args.concurrency}, STRATEGY_FANOUT_BATCH "
                  f"{os.environ.get('STRATEGY_FANOUT_BATCH', 'default')}")
            fan_out_rounds(client, house, deployment_ids, args.rounds)
            webhook_latency(client, idle, args.deliveries)
        cpu_cost(house, idle, max(4, args.rounds // 2), args.deliveries)
    finally:
        stop(server)
        stop(worker)


if __name__ == "__main__":
    main()
