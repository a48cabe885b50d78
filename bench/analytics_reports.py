"""bench/analytics.py's latency and admin sections (Django is set up on the bench database by then)."""
from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Callable
from typing import Any

from bench.latency import backend_cpu_ms

SECTIONS = ("latency", "admin", "logging")
TARGET_MS = 300
DAYS = 30


def load_average() -> str:
    with open("/proc/loadavg") as load:
        return " ".join(load.read().split()[:3])


def _timed(call: Callable[[], Any]) -> tuple[float, float | None, float, Any]:
    """Wall ms, the database backend's CPU ms (None if not readable), this process's CPU ms, the result."""
    cpu_before = backend_cpu_ms()
    started, mine = time.perf_counter(), time.process_time()
    result = call()
    wall, mine = (time.perf_counter() - started) * 1000, (time.process_time() - mine) * 1000
    cpu_after = backend_cpu_ms()
    cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return wall, cpu, mine, result


Timings = tuple[list[float], list[float], list[float], Any]  # wall, database CPU, this process's CPU, result


def alternate(sides: dict[str, Callable[[], Any]], runs: int) -> dict[str, Timings]:
    """Run each side `runs` times, alternating (the order flips every run), after one warm-up each."""
    found: dict[str, Timings] = {}
    for name, call in sides.items():
        found[name] = ([], [], [], call())
    names = list(sides)
    for number in range(runs):
        for name in names if number % 2 == 0 else reversed(names):
            wall, cpu, mine, _ = _timed(sides[name])
            found[name][0].append(wall)
            found[name][2].append(mine)
            if cpu is not None:
                found[name][1].append(cpu)
    return found


def _summary(walls: list[float], cpus: list[float], mine: list[float]) -> str:
    cpu = f"database {statistics.median(cpus):4.0f} + " if cpus else ""
    return (f"median {statistics.median(walls):7.1f} ms (min {min(walls):6.1f}); CPU {cpu}"
            f"Python {statistics.median(mine):4.0f} ms")


def _largest_error(rolled: list[dict], exact: list[dict]) -> float:
    worst = 0.0
    for mine, theirs in zip(rolled, exact, strict=True):
        assert mine["count"] == theirs["count"], (mine, theirs)
        for name in ("p50_ms", "p90_ms", "p95_ms", "p99_ms"):
            worst = max(worst, abs(mine[name] - theirs[name]) / theirs[name] if theirs[name] else 0.0)
    return worst


def latency_figures(runs: int) -> None:
    from accounts.models import User
    from analytics.services import rollup
    from analytics.services.latency import LatencyQuery, latency_report
    from bench.seed import PREFIX
    from trading.models import Order

    print(f"\n== latency over the last {DAYS} days: straight from the orders vs daily rollups + today live")
    started = time.perf_counter()
    days = rollup.days_to_roll(limit=400)
    for day in days:
        rollup.roll_day(day)
    if days:
        spent = time.perf_counter() - started
        print(f"rolled {len(days)} closed day(s) in {spent:.1f} s ({spent / len(days) * 1000:.0f} ms a day)")
    until = dt.datetime.now(dt.UTC)
    since = until - dt.timedelta(days=DAYS)
    trader = User.objects.get(username=f"{PREFIX}7")
    today = rollup.day_of(until)
    print(f"range: {Order.objects.filter(placed_at__gte=since).count():,} orders, today's (read live) "
          f"{Order.objects.filter(placed_at__gte=rollup.ist_day_bounds(today)[0]).count():,}")
    for label, user, group_by in (("operator, whole range", None, ()), ("operator, per day", None, ("day",)),
                                  ("operator, per broker", None, ("broker",)),
                                  ("operator, per user", None, ("user",)),
                                  ("operator, per broker, user and day", None, ("broker", "user", "day")),
                                  ("one trader, whole range", trader.pk, ()),
                                  ("one trader, per day", trader.pk, ("day",))):
        query = LatencyQuery(since=since, until=until, group_by=group_by)
        scope = Order.objects.all() if user is None else Order.objects.for_user(user)
        found = alternate({"orders": lambda s=scope, q=query: latency_report(s, q),
                           "rollups": lambda q=query, u=user: rollup.report(q, user_id=u).results}, runs)
        error = _largest_error(found["rollups"][3], found["orders"][3])
        rolled = statistics.median(found["rollups"][0])
        verdict = "OK" if rolled <= TARGET_MS else "OVER"
        print(f"{label:<36} orders: {_summary(*found['orders'][:3])}\n{'':<36} rollups: "
              f"{_summary(*found['rollups'][:3])}  {verdict}; {len(found['rollups'][3])} row(s), "
              f"largest percentile difference {error * 100:.3f}% (bound {rollup.PRECISION * 100:.1f}%)")


def _admin_client():
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY

    from accounts.models import AuthenticatorDevice, User

    user, _ = User.objects.get_or_create(username="bench-admin", defaults={
        "email": "bench-admin@example.com", "is_staff": True, "is_superuser": True})
    device, _ = AuthenticatorDevice.objects.get_or_create(user=user, name="bench", defaults={"confirmed": True})
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def admin_pages(runs: int) -> None:
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    print("\n== admin pages (in process, Django's test client, a verified superuser)")
    client = _admin_client()
    from urllib.parse import quote

    from analytics.services.rollup import day_of, ist_day_bounds

    today = quote(ist_day_bounds(day_of(dt.datetime.now(dt.UTC)))[0].isoformat(sep=" "))  # as the admin's filter
    pages = {
        "first screen /admin/, cold cache": "/admin/",  # the shared cache cleared before each request
        "first screen /admin/": "/admin/",
        "order list": "/admin/trading/order/",
        "order list, page 50": "/admin/trading/order/?p=50",
        "order list, rejected": "/admin/trading/order/?status__exact=REJECTED",
        "order list, sandbox, today": f"/admin/trading/order/?is_analyze__exact=1&placed_at__gte={today}",
        "order list, search a broker id": "/admin/trading/order/?q=B777777",
    }
    for label, url in pages.items():
        def get(url: str = url, cold: bool = "cold" in label) -> int:
            if cold:
                cache.clear()
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            return response.status_code

        walls, cpus, mine, _ = alternate({label: get}, runs)[label]
        with CaptureQueriesContext(connection) as queries:
            get()
        slowest = max(queries.captured_queries, key=lambda q: float(q["time"]))
        median = statistics.median(walls)
        print(f"{label:<34} {_summary(walls, cpus, mine)}  {'OK' if median <= TARGET_MS else 'OVER'}; "
              f"{len(queries)} queries, slowest {float(slowest['time']) * 1000:.1f} ms: {slowest['sql'][:110]}")
