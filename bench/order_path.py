"""Benchmark of the order hot path: placeorder in analyze mode (the sandbox fills it), over HTTP.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/algodesk_bench REDIS_URL=redis://127.0.0.1:6379/1 \\
        .venv/bin/python bench/order_path.py --requests 6000 --clients 8

Starts gunicorn (gthread workers, keep-alive) on the configured database unless --url points at a
running server, prepares a user with an analyze-mode API key, an instrument and a sandbox price,
then sends placeorder requests from a few keep-alive httpx clients and prints latency percentiles,
throughput and the platform overhead the pipeline recorded on each order (Order.overhead_ms).

It then measures a floor on the same server settings: a WSGI app (floor_app below) that parses the
JSON body and INSERTs one row through Django's database connection, nothing else. The difference
between the two is what the platform costs per order beyond "HTTP + one write".

Use a database of its own: the script migrates it and writes orders into it. Settings are the
production ones (DEBUG off, rate limits off for the single bench key, market hours not enforced).
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FLOOR_TABLE = "bench_floor_row"


# --- environment ------------------------------------------------------------------------------------
def prepare_environment() -> None:
    """Production-like settings with development secrets generated into var/bench/."""
    from config import devsecrets

    var = Path(os.environ.setdefault("ALGODESK_VAR_DIR", str(ROOT / "var" / "bench")))
    for line in devsecrets.ensure(var / "dev-secrets.env").read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and not name.startswith("#"):
            os.environ.setdefault(name.strip(), value.strip())
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "false")  # the bench speaks plain HTTP on loopback
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
    os.environ.setdefault("ENFORCE_MARKET_HOURS", "false")
    os.environ.setdefault("RATE_LIMITS_ENABLED", "false")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


# --- the floor: HTTP + JSON + one INSERT ---------------------------------------------------------------
def floor_app(environ, start_response):
    """A WSGI app doing the least an order endpoint must: read JSON, write one row, answer JSON."""
    from django.db import close_old_connections, connection

    close_old_connections()
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = json.loads(environ["wsgi.input"].read(length) or b"{}")
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {FLOOR_TABLE} (symbol, quantity, created_at) VALUES (%s, %s, now()) "
                       "RETURNING id", [str(body.get("symbol", ""))[:32], int(body.get("quantity") or 0)])
        row_id = cursor.fetchone()[0]
    payload = json.dumps({"status": "success", "orderid": str(row_id)}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]


def _floor_wsgi():
    prepare_environment()
    import django

    django.setup()
    return floor_app


# --- setup ---------------------------------------------------------------------------------------------
def setup_data(users: int) -> tuple[list[str], list[int]]:
    """`users` bench users in analyze mode with a fresh key each; SBIN in the instrument master with a
    sandbox price. One user per client: the sandbox serialises a user's orders on that user's funds row
    (as a broker account would), and a multi-user platform's load is many users at once."""
    from decimal import Decimal

    from django.core.management import call_command
    from django.db import connection

    from accounts.models import User
    from accounts.services import apikeys
    from accounts.services.risk import update_risk_settings
    from accounts.services.usersettings import set_analyze_mode
    from brokers.models import Instrument
    from sandbox.services.prices import set_price

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {FLOOR_TABLE} (id bigserial PRIMARY KEY, symbol varchar(32), "
                       "quantity integer, created_at timestamptz)")
    Instrument.objects.get_or_create(exchange="NSE", symbol="SBIN", defaults={
        "name": "STATE BANK OF INDIA", "underlying": "SBIN", "instrument_type": "EQ", "lot_size": 1,
        "tick_size": Decimal("0.05")})
    set_price("NSE", "SBIN", "800", bid="799.95", ask="800.05")
    keys, ids = [], []
    for number in range(users):
        user, _ = User.objects.get_or_create(username=f"bench{number}",
                                             defaults={"email": f"bench{number}@example.com"})
        set_analyze_mode(user, True)
        # Every risk check stays on; only the daily count is raised, as the bench sends thousands.
        update_risk_settings(user, max_orders_per_day=10_000_000)
        _, raw = apikeys.create_key(user, f"bench-{time.time_ns()}")
        keys.append(raw)
        ids.append(user.pk)
    return keys, ids


# --- server --------------------------------------------------------------------------------------------
def free_port() -> int:
    """BENCH_PORT if set (a port range of one's own on a shared machine), else any free port."""
    if os.environ.get("BENCH_PORT"):
        return int(os.environ["BENCH_PORT"])
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(app: str, workers: int, threads: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    cmd = [str(ROOT / ".venv" / "bin" / "gunicorn"), app, "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
           "--threads", str(threads), "--worker-class", "gthread", "--keep-alive", "30", "--log-level", "warning"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=os.environ.copy())
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, url
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit(f"gunicorn did not start: {' '.join(cmd)}")


def stop(proc: subprocess.Popen | None) -> None:
    if proc is not None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


# --- load ----------------------------------------------------------------------------------------------
def server_timing(header: str | None) -> dict[str, float]:
    """Server-Timing durations (ms) by name: broker, platform, total."""
    parts = (item.strip().split(";dur=") for item in (header or "").split(",") if ";dur=" in item)
    return {name: float(value) for name, value in parts}


def run_load(url: str, path: str, bodies: list[list[dict]],
             timings: list[dict[str, float]] | None = None) -> tuple[list[float], float, int]:
    """One keep-alive client per list of bodies, each sending its list in order.
    Returns (latencies in s, wall time, errors); collects each answer's Server-Timing into `timings`.

    The clients are the standard library's http.client with the bodies encoded up front: the load
    generator shares the server's cores, so it should cost as little as it can (httpx cost about four
    times as much CPU per request here, time the server then did not get)."""
    from urllib.parse import urlsplit

    target = urlsplit(url)
    lock = threading.Lock()
    latencies: list[float] = []
    errors = [0]
    headers = {"Content-Type": "application/json"}

    def worker(mine: list[bytes]) -> None:
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
        try:
            for payload in mine:
                t0 = time.perf_counter()
                connection.request("POST", path, body=payload, headers=headers)
                response = connection.getresponse()
                data = response.read()
                elapsed = time.perf_counter() - t0
                ok = response.status == 200 and json.loads(data).get("status") == "success"
                with lock:
                    latencies.append(elapsed)
                    if timings is not None:
                        timings.append({**server_timing(response.getheader("Server-Timing")),
                                        "client": elapsed * 1000})
                    if not ok:
                        errors[0] += 1
                        if errors[0] <= 3:
                            print(f"  error {response.status}: {data[:200]!r}", file=sys.stderr)
        finally:
            connection.close()

    encoded = [[json.dumps(body).encode() for body in mine] for mine in bodies]
    threads = [threading.Thread(target=worker, args=(mine,)) for mine in encoded]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, time.perf_counter() - started, errors[0]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def report(title: str, latencies: list[float], wall: float, errors: int) -> None:
    ms = [v * 1000 for v in latencies]
    print(f"{title}: {len(ms)} requests, {errors} errors, {len(ms) / wall:.0f} req/s; latency ms "
          f"p50 {pct(ms, 50):.2f}  p90 {pct(ms, 90):.2f}  p99 {pct(ms, 99):.2f}  mean {statistics.mean(ms):.2f}")


def order_bodies(keys: list[str], total: int) -> list[list[dict]]:
    """Per client: BUY and SELL alternate (CNC: a sell of today's buy), so positions and margin stay flat."""
    per_client = max(1, total // len(keys))
    return [[{"apikey": key, "strategy": "bench", "exchange": "NSE", "symbol": "SBIN",
              "action": "BUY" if i % 2 == 0 else "SELL", "quantity": "1", "pricetype": "MARKET", "product": "CNC"}
             for i in range(per_client)] for key in keys]


def measured_split(timings: list[dict[str, float]]) -> None:
    """From the answers' Server-Timing: the platform's time per order with the final write and commit
    (the stored overhead_ms stops before them), and what the client saw beyond the broker's time."""
    rows = [t for t in timings if "platform" in t]
    if not rows:
        print("server timing: no Server-Timing headers in the answers")
        return
    for title, values in (("platform overhead, whole request (Server-Timing)", [t["platform"] for t in rows]),
                          ("client latency minus broker (HTTP included)", [t["client"] - t["broker"] for t in rows])):
        print(f"{title} ms: p50 {pct(values, 50):.2f}  p90 {pct(values, 90):.2f}  p99 {pct(values, 99):.2f}")


def recorded_split(user_ids: list[int], after_id: int) -> None:
    from trading.models import Order

    rows = list(Order.objects.filter(user_id__in=user_ids, id__gt=after_id).exclude(overhead_ms=None)
                .values_list("validation_ms", "broker_ms", "overhead_ms"))
    if not rows:
        print("recorded split: no orders found (is --url pointing at another database?)")
        return
    for index, name in enumerate(("validation", "broker (sandbox)", "platform overhead up to the final write")):
        values = [float(r[index]) for r in rows]
        print(f"recorded {name} ms: p50 {pct(values, 50):.2f}  p90 {pct(values, 90):.2f}  p99 {pct(values, 99):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running AlgoDesk (sharing this DATABASE_URL); default: start gunicorn")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients, each its own user")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=3, help="threads per worker")
    parser.add_argument("--skip-floor", action="store_true")
    args = parser.parse_args()

    prepare_environment()
    import django

    django.setup()
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    print(f"database: {engine.rsplit('.', 1)[-1]}  cache: {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}"
          f"  cores: {os.cpu_count()}  gunicorn: {args.workers} workers x {args.threads} threads"
          f"  clients: {args.clients}")
    if "postgresql" not in engine:
        print("warning: DATABASE_URL is not PostgreSQL; figures will not be representative", file=sys.stderr)
    keys, user_ids = setup_data(args.clients)
    from trading.models import Order

    server = None
    try:
        url = args.url
        if not url:
            server, url = start_gunicorn("config.wsgi:application", args.workers, args.threads)
        run_load(url, "/api/v1/placeorder", order_bodies(keys, 20 * len(keys)))  # warm caches and workers
        last_id = Order.objects.order_by("-id").values_list("id", flat=True).first() or 0
        timings: list[dict[str, float]] = []
        latencies, wall, errors = run_load(url, "/api/v1/placeorder", order_bodies(keys, args.requests), timings)
        report("placeorder (analyze mode, sandbox fill)", latencies, wall, errors)
        recorded_split(user_ids, last_id)
        measured_split(timings)
    finally:
        stop(server)

    if args.skip_floor:
        return
    floor = None
    try:
        floor, url = start_gunicorn("bench.order_path:_floor_wsgi()", args.workers, args.threads)
        per_client = max(1, args.requests // args.clients)
        run_load(url, "/", [[{"symbol": "SBIN", "quantity": 1}] * 20 for _ in range(args.clients)])
        latencies, wall, errors = run_load(url, "/", [[{"symbol": "SBIN", "quantity": 1}] * per_client
                                                      for _ in range(args.clients)])
        report("floor (WSGI + JSON + one INSERT)", latencies, wall, errors)
    finally:
        stop(floor)


if __name__ == "__main__":
    main()
