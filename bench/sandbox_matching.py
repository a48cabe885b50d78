"""Benchmark of the sandbox's matching and of a MARKET order through /api/v1/placeorder in analyze mode.

    .venv/bin/python bench/sandbox_matching.py                      # a scratch SQLite under var/bench-sandbox/
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/algodesk_sbx_bench REDIS_URL=redis://127.0.0.1:6379/2 \\
        .venv/bin/python bench/sandbox_matching.py

1. Places 10,000 resting orders (LIMIT buys below the market, SL-M sells with triggers below it) for
   20 users across 100 instruments, through the sandbox's own order service, then times a full sweep
   (match_all's work: every resting order against its instrument's stored price) when nothing
   crosses, counts its queries, and times one instrument's price change. Target: a sweep <= 50 ms.
2. Times a sweep in which 1% of the resting orders fill, with the ledger checked afterwards.
3. Places MARKET orders through SandboxAdapter.place_order in-process (the broker call alone, warm price
   store and caches) and counts the statements of one.
4. Sends MARKET orders to /api/v1/placeorder in-process (Django's test client: the whole middleware
   stack and view, no socket) for a user in analyze mode, and checks each sandbox order is COMPLETE
   by the time the response is back.

Use a database of its own: the script migrates it and deletes its own bench users' sandbox rows first.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

INSTRUMENTS = 100
USERS = 20


def prepare_environment() -> None:
    os.environ.setdefault("ALGODESK_VAR_DIR", str(ROOT / "var" / "bench-sandbox"))
    os.environ.setdefault("ENFORCE_MARKET_HOURS", "false")
    os.environ.setdefault("RATE_LIMITS_ENABLED", "false")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def summary(samples: list[float]) -> str:
    samples = sorted(samples)
    p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
    return f"median {ms(statistics.median(samples))}, p95 {ms(p95)}, min {ms(samples[0])} (n={len(samples)})"


def setup(orders: int) -> list:
    from django.contrib.auth import get_user_model
    from django.core.cache import cache

    from brokers.adapters.base import OrderSpec
    from brokers.models import Instrument
    from sandbox.models import DailyPnL, FundsLedger, SandboxConfig, SandboxFunds, SandboxOrder, SandboxPosition
    from sandbox.services.config import forget_config
    from sandbox.services.orders import place_order
    from sandbox.services.prices import set_price

    users = []
    for i in range(USERS):
        user, _ = get_user_model().objects.get_or_create(username=f"bench-sandbox-{i}",
                                                          defaults={"email": f"bench-sandbox-{i}@example.com"})
        users.append(user)
    ids = [u.pk for u in users]
    for model in (SandboxOrder, SandboxPosition, FundsLedger, SandboxFunds, DailyPnL):
        model.objects.filter(user_id__in=ids).delete()
    late = __import__("datetime").time(23, 59)  # MIS accepted whatever the hour the bench runs at
    SandboxConfig.objects.update_or_create(pk=1, defaults={"squareoff_nse": late, "slippage_bps": 0,
                                                           "partial_fills": False})
    forget_config()
    cache.clear()
    symbols = [f"BENCH{i:03d}" for i in range(INSTRUMENTS)]
    for symbol in symbols:
        Instrument.objects.get_or_create(exchange="NSE", symbol=symbol, defaults={
            "name": symbol, "underlying": symbol, "instrument_type": "EQ", "lot_size": 1,
            "tick_size": Decimal("0.05")})
        set_price("NSE", symbol, Decimal("1000"), bid=Decimal("999.95"), ask=Decimal("1000.05"))
    started = time.perf_counter()
    for n in range(orders):
        symbol = symbols[n % INSTRUMENTS]
        user = users[n % USERS]
        level = Decimal(900 + (n // INSTRUMENTS) % 90)  # 900 .. 989: below the market
        if n % 2:
            order = OrderSpec("NSE", symbol, "BUY", Decimal(1), "LIMIT", "MIS", price=level)
        else:
            order = OrderSpec("NSE", symbol, "SELL", Decimal(1), "SL-M", "MIS", trigger_price=level)
        place_order(user.pk, order)
    print(f"setup: {orders} resting orders for {USERS} users on {INSTRUMENTS} instruments placed through the "
          f"order service in {time.perf_counter() - started:.1f} s")
    return users


def bench_sweep(runs: int) -> None:
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from sandbox.models import RESTING, SandboxOrder
    from sandbox.services import matching
    from sandbox.services.prices import stored_quote

    resting = SandboxOrder.objects.filter(status__in=RESTING).count()
    with connection.cursor() as cursor:  # fresh statistics, as autovacuum keeps them in production
        for table in ("sandbox_sandboxorder", "sandbox_lastprice"):
            cursor.execute(f"ANALYZE {table}")
    matching.sweep()  # warm the connection and the cache
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        result = matching.sweep()
        samples.append(time.perf_counter() - started)
        assert result.fills == 0, result
    reset_queries()  # the debug log holds 9,000 queries at most: start it empty
    with CaptureQueriesContext(connection) as ctx:
        result = matching.sweep()
    instruments = SandboxOrder.objects.filter(status__in=RESTING).values("exchange", "symbol").distinct().count()
    print(f"full sweep, nothing crosses: {resting} resting orders on {instruments} instruments, "
          f"{len(ctx.captured_queries)} queries: {summary(samples)}  (target <= 50 ms)")
    quote = stored_quote("NSE", "BENCH000")
    samples = []
    for _ in range(runs * 5):
        started = time.perf_counter()
        matching.match_instrument("NSE", "BENCH000", quote)
        samples.append(time.perf_counter() - started)
    print(f"one price change (one instrument, {resting // INSTRUMENTS} resting orders): {summary(samples)}")


def bench_fills(users: list) -> None:
    from sandbox.models import RESTING, SandboxOrder
    from sandbox.services import matching
    from sandbox.services.funds import check_invariant
    from sandbox.services.prices import set_price

    # 989 crosses the highest buy level on every instrument: 1 in 90 levels of the buys, ~0.55% of all orders.
    for i in range(INSTRUMENTS):
        set_price("NSE", f"BENCH{i:03d}", Decimal("989"), match=False)
    before = SandboxOrder.objects.filter(status__in=RESTING).count()
    started = time.perf_counter()
    result = matching.sweep()
    elapsed = time.perf_counter() - started
    for user in users:
        check_invariant(user)
    print(f"full sweep with fills: {result.fills} of {before} resting orders filled in {ms(elapsed)} "
          f"({ms(elapsed / max(result.fills, 1))} per fill); ledger invariant holds for all {len(users)} users")


def bench_adapter(orders: int) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from brokers.adapters.base import AdapterContext, OrderSpec
    from sandbox.adapter import SandboxAdapter

    user = get_user_model().objects.get(username="bench-sandbox-1")
    adapter = SandboxAdapter(AdapterContext(user_id=user.pk))

    def order(i: int) -> OrderSpec:  # alternately opens and closes a position of 1
        return OrderSpec(exchange="NSE", symbol="BENCH002", action="SELL" if i % 2 else "BUY", quantity=Decimal(1),
                         price_type="MARKET", product="MIS", strategy="bench")

    for i in range(10):  # warm the caches and the connection; leaves the position flat
        adapter.place_order(order(i))
    with CaptureQueriesContext(connection) as ctx:
        adapter.place_order(order(0))
        adapter.place_order(order(1))
    samples = []
    cpu = time.process_time()
    for i in range(orders):
        started = time.perf_counter()
        adapter.place_order(order(i))
        samples.append(time.perf_counter() - started)
    cpu = (time.process_time() - cpu) / max(orders, 1)
    print(f"MARKET order through SandboxAdapter.place_order (in-process): {len(ctx.captured_queries) / 2:g} "
          f"statements per order (BEGIN and COMMIT included); {summary(samples)}; {ms(cpu)} CPU per order")


def bench_api(requests: int) -> None:
    import json

    from django.test import Client

    from accounts.models import ApiKey
    from accounts.services import apikeys
    from accounts.services.usersettings import set_analyze_mode
    from sandbox.models import OrderStatus, SandboxOrder

    try:
        from django.urls import reverse

        reverse("api_v1:placeorder")
    except Exception as exc:  # the endpoint belongs to another app and may be missing
        print(f"placeorder: /api/v1/placeorder is not available ({exc}); skipped")
        return
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username="bench-sandbox-0")
    set_analyze_mode(user, True)
    ApiKey.objects.filter(user=user, name="bench-sandbox").delete()
    _, key = apikeys.create_key(user, "bench-sandbox")
    client = Client()
    body = {"apikey": key, "strategy": "bench", "exchange": "NSE", "symbol": "BENCH001", "action": "BUY",
            "quantity": "1", "pricetype": "MARKET", "product": "MIS"}
    samples, incomplete = [], 0
    for i in range(requests + 5):
        body["action"] = "BUY" if i % 2 else "SELL"
        started = time.perf_counter()
        response = client.post("/api/v1/placeorder", json.dumps(body), content_type="application/json")
        elapsed = time.perf_counter() - started
        payload = response.json()
        if response.status_code != 200:
            raise SystemExit(f"placeorder failed: {response.status_code} {payload}")
        status = SandboxOrder.objects.filter(order_id=payload["orderid"]).values_list("status", flat=True).first()
        incomplete += status != OrderStatus.COMPLETE
        if i >= 5:  # the first requests warm the key, instrument and mode caches
            samples.append(elapsed)
    print(f"MARKET order through /api/v1/placeorder (analyze mode, in-process): {summary(samples)}; "
          f"{requests - incomplete}/{requests} COMPLETE when the response returned")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--adapter-orders", type=int, default=500)
    parser.add_argument("--reuse", action="store_true", help="Keep the resting orders of a previous run.")
    args = parser.parse_args()
    prepare_environment()
    from django.conf import settings
    from django.core.management import call_command

    db = settings.DATABASES["default"]
    print(f"database: {db['ENGINE'].rsplit('.', 1)[-1]} {db['NAME']}; cache: {settings.CACHES['default']['BACKEND']}")
    call_command("migrate", verbosity=0)
    if args.reuse:
        from django.contrib.auth import get_user_model

        users = list(get_user_model().objects.filter(username__startswith="bench-sandbox-"))
    else:
        users = setup(args.orders)
    bench_sweep(args.runs)
    bench_fills(users)
    bench_adapter(args.adapter_orders)
    bench_api(args.requests)


if __name__ == "__main__":
    main()
