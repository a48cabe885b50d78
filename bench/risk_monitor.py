"""Benchmark of the strategies' risk monitor: one run's time and queries, whatever the number of deployments.

    .venv/bin/python bench/risk_monitor.py                      # a scratch SQLite under var/bench-risk/
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/algodesk_risk_bench REDIS_URL=redis://127.0.0.1:6379/2 \\
        .venv/bin/python bench/risk_monitor.py --deployments 5000

1. Makes N active sandbox deployments (20 users, 50 strategies each ... as many as needed) with a max-loss
   rule that does not fire and two filled orders each across 100 priced instruments, then times runs of
   the monitor (a batch of STRATEGY_RISK_BATCH deployments each) and counts their queries: the figure
   must not grow with N, only with the batch.
2. Gives 20 deployments a real position through the order pipeline (their owners' sandboxes), moves the
   price so their rules fire, and times the run that fires them: each closes its position through the
   pipeline, pauses the deployment and records a RiskEvent.

Use a database of its own: the script migrates it and deletes its own bench users first.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.sandbox_matching import ms, summary  # noqa: E402  (the same figures' format)

USERS = 20
INSTRUMENTS = 100
PREFIX = "bench-risk-"


def prepare_environment() -> None:
    os.environ.setdefault("ALGODESK_VAR_DIR", str(ROOT / "var" / "bench-risk"))
    os.environ.setdefault("ENFORCE_MARKET_HOURS", "false")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def setup(deployments: int) -> list:
    from django.contrib.auth import get_user_model
    from django.core.cache import cache

    from brokers.models import Instrument
    from sandbox.models import SandboxConfig
    from sandbox.services.config import forget_config
    from sandbox.services.prices import set_price
    from strategies.models import Deployment, RiskRule, Strategy
    from trading.models import Order

    User = get_user_model()
    old = User.objects.filter(username__startswith=PREFIX)
    Order.objects.filter(user__in=old).delete()
    old.delete()
    SandboxConfig.objects.update_or_create(pk=1, defaults={"squareoff_nse": __import__("datetime").time(23, 59)})
    forget_config()
    cache.clear()
    symbols = [f"RISK{i:03d}" for i in range(INSTRUMENTS)]
    for symbol in symbols:
        Instrument.objects.get_or_create(exchange="NSE", symbol=symbol, defaults={
            "name": symbol, "underlying": symbol, "instrument_type": "EQ", "lot_size": 1,
            "tick_size": Decimal("0.05")})
        set_price("NSE", symbol, Decimal("1000"), bid=Decimal("999.95"), ask=Decimal("1000.05"), match=False)
    users = [User.objects.create(username=f"{PREFIX}{i}", email=f"{PREFIX}{i}@example.com") for i in range(USERS)]
    per_user = -(-deployments // USERS)
    strategies = Strategy.objects.bulk_create([
        Strategy(user=users[n % USERS], name=f"s{n // USERS}", trading_days=[0, 1, 2, 3, 4, 5, 6])
        for n in range(per_user * USERS)][:deployments])
    rows = Deployment.objects.bulk_create([Deployment(strategy=s, user=s.user, mode="sandbox") for s in strategies])
    RiskRule.objects.bulk_create([RiskRule(deployment=d, rule_type="max_loss", threshold=Decimal("1000000"))
                                  for d in rows])
    orders = []
    for n, d in enumerate(rows):
        symbol = symbols[n % INSTRUMENTS]
        for action, quantity in (("BUY", 10), ("SELL", 4)):
            orders.append(Order(user=d.user, deployment=d, strategy=d.strategy.name, exchange="NSE", symbol=symbol,
                                action=action, quantity=quantity, filled_quantity=quantity,
                                average_price=Decimal("1000"), status="COMPLETE", is_analyze=True))
    Order.objects.bulk_create(orders, batch_size=2000)
    print(f"setup: {len(rows)} active deployments of {USERS} users with a rule and {len(orders)} filled orders "
          f"on {INSTRUMENTS} instruments")
    return rows


def timed_runs(runs: int) -> tuple[list[float], list[int], int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from strategies.services.riskmonitor import sweep

    samples, queries, checked = [], [], 0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            checked = sweep().checked
            samples.append(time.perf_counter() - started)
        queries.append(len(captured.captured_queries))
    return samples, queries, checked


def bench_sweeps(deployments: int, runs: int) -> None:
    from django.conf import settings

    batch = settings.STRATEGY_RISK_BATCH
    # The first pass over every deployment also stores each one's P&L (one bulk update per run).
    samples, queries, checked = timed_runs(-(-deployments // batch))
    print(f"risk monitor, first pass over all {deployments} (batch {batch}, P&L stored): {summary(samples)}; "
          f"queries per run {min(queries)}-{max(queries)}")
    samples, queries, checked = timed_runs(runs)
    print(f"risk monitor run, steady (batch {batch}, {checked} checked, nothing fires): {summary(samples)}; "
          f"queries per run {min(queries)}-{max(queries)}; a full cycle over {deployments} deployments takes "
          f"{-(-deployments // batch)} runs")


def bench_firing(count: int) -> None:
    from sandbox.services.prices import set_price
    from strategies.models import Deployment, DeploymentStatus, RiskEvent, RiskRule
    from strategies.services.exits import place_for, route_of
    from strategies.services.riskmonitor import sweep
    from trading.services.validation import OrderSpec

    chosen = list(Deployment.objects.filter(user__username__startswith=PREFIX).select_related("strategy", "user")
                  .order_by("pk")[:count])
    symbol = "RISK999"
    from brokers.models import Instrument

    Instrument.objects.get_or_create(exchange="NSE", symbol=symbol, defaults={
        "name": symbol, "underlying": symbol, "instrument_type": "EQ", "lot_size": 1, "tick_size": Decimal("0.05")})
    set_price("NSE", symbol, Decimal("500"), bid=Decimal("499.95"), ask=Decimal("500.05"))
    for d in chosen:
        place_for(d, OrderSpec(exchange="NSE", symbol=symbol, action="BUY", quantity=Decimal("10"),
                               strategy=d.strategy.name), route_of(d), source="strategy")
    RiskRule.objects.filter(deployment__in=chosen).update(threshold=Decimal("100"))
    Deployment.objects.exclude(pk__in=[d.pk for d in chosen]).filter(
        user__username__startswith=PREFIX).update(status=DeploymentStatus.PAUSED)  # only the chosen are checked
    set_price("NSE", symbol, Decimal("480"), bid=Decimal("479.95"), ask=Decimal("480.05"))
    started = time.perf_counter()
    done = sweep(batch=count)
    elapsed = time.perf_counter() - started
    closed = RiskEvent.objects.filter(deployment__in=chosen, action="closed_and_paused").count()
    print(f"a run in which {done.fired} of {count} rules fire (each closes 1 position through the pipeline, "
          f"pauses its deployment, records the event): {ms(elapsed)} ({ms(elapsed / max(done.fired, 1))} per "
          f"firing); {closed} events closed_and_paused")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployments", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--fire", type=int, default=20)
    args = parser.parse_args()
    prepare_environment()
    from django.conf import settings
    from django.core.management import call_command

    db = settings.DATABASES["default"]
    print(f"database: {db['ENGINE'].rsplit('.', 1)[-1]} {db['NAME']}; cache: {settings.CACHES['default']['BACKEND']}")
    call_command("migrate", verbosity=0)
    setup(args.deployments)
    bench_sweeps(args.deployments, args.runs)
    bench_firing(args.fire)


if __name__ == "__main__":
    main()
