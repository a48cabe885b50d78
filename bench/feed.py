"""Benchmark of the real-time feed: price store -> feed process -> WebSocket clients.

    .venv/bin/python bench/feed.py [--seconds 60]               # embedded default: SQLite, the Unix socket bus
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/algodesk_feed_bench REDIS_URL=redis://127.0.0.1:6379/8 \\
        .venv/bin/python bench/feed.py                           # PostgreSQL, Channels' Redis layer

Starts `manage.py feed` as its own process, connects --clients WebSocket clients spread over --workers
processes (default 500 over 4; 20 per API key, each client one instrument in Quote mode, so 5 clients per
instrument), then a publisher process sends
--rate price updates per second for each of --instruments instruments (default 10 x 100) for --seconds.
By default the publisher hands each quote to the bus exactly as the price store's signal receiver does
(feed.receivers: events.tick -> bus.publish), so the figures are the feed's; --store calls the price store
itself (sandbox set_price: the database write, the cache, matching) at whatever rate it sustains.

Each update carries a sequence number in its volume; the publisher records when it sent each one and the
clients when they received it, so the latency (p50, p99, max) is measured per message, not sampled, and a
missing sequence number is a lost message. CPU is the feed process's (user + system) over the run, as a
share of one core. Use a database of its own: the script migrates it and makes its own bench users.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CLIENTS_PER_KEY = 20


def prepare_environment() -> None:
    os.environ.setdefault("ALGODESK_VAR_DIR", str(ROOT / "var" / "bench-feed"))
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("LOG_FLUSH_SECONDS", "0")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def symbols(count: int) -> list[str]:
    return [f"BENCH{n:03d}" for n in range(count)]


# --- the publisher (a process of its own) ----------------------------------------------------------
def publish(args: argparse.Namespace) -> None:
    """Send `rate` updates per second per instrument for `seconds`; write (symbol, seq, sent at) to `out`."""
    import datetime as dt
    from decimal import Decimal

    from feed import bus, events
    from sandbox.services.prices import PriceQuote, set_price

    names = symbols(args.instruments)
    interval = 1.0 / (args.rate * len(names))  # updates spread evenly over each second
    sent: list[tuple[str, int, float]] = []
    start = time.perf_counter()
    total = int(args.seconds * args.rate) * len(names)
    for n in range(total):
        due = start + n * interval
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        symbol, seq = names[n % len(names)], n // len(names) + 1
        price = Decimal(100 + (n % 50)) / 2
        sent_at = time.time()
        if args.store:
            set_price("NSE", symbol, price, bid=price, ask=price + Decimal("0.05"), volume=seq, match=False)
        else:
            quote = PriceQuote("NSE", symbol, price, bid=price, ask=price + Decimal("0.05"), volume=seq,
                               updated_at=dt.datetime.fromtimestamp(sent_at, dt.UTC))
            bus.publish(events.tick(quote))
        sent.append((symbol, seq, sent_at))
    elapsed = time.perf_counter() - start
    publisher = bus.socket_sender() if bus.get_channel_layer() is None else bus.layer_publisher()
    publisher.close(30)  # write what is queued before this process exits
    Path(args.out).write_text(json.dumps({"sent": sent, "elapsed": elapsed,
                                          "dropped": getattr(publisher, "dropped", 0)}))


# --- the clients (worker processes, so that reading 5,000 messages a second is not one process's limit) ---
async def client(url: str, key: str, symbol: str, received: list, subscribed: asyncio.Queue) -> None:
    import websockets

    async with websockets.connect(url, max_size=2**20, compression=None, open_timeout=120) as ws:
        await ws.send(json.dumps({"action": "authenticate", "api_key": key}))
        while json.loads(await ws.recv()).get("type") != "auth":
            pass
        await ws.send(json.dumps({"action": "subscribe", "symbols": [{"symbol": symbol, "exchange": "NSE"}],
                                  "mode": 2}))
        while json.loads(await ws.recv()).get("type") != "subscribe":
            pass
        subscribed.put_nowait(symbol)
        async for raw in ws:  # kept cheap: the clients must not be what the bench measures
            received.append((raw, time.time()))


async def client_worker(args: argparse.Namespace) -> None:
    """Clients number index, index + workers, ...; prints "ready" once all are subscribed, stops on "stop"."""
    plan = json.loads(Path(args.out).read_text())
    received: list = []
    subscribed: asyncio.Queue = asyncio.Queue()
    url = f"ws://127.0.0.1:{args.port}"
    mine = [(key, symbol) for n, (key, symbol) in enumerate(plan) if n % args.workers == args.index]
    tasks = []
    for n, (key, symbol) in enumerate(mine):
        tasks.append(asyncio.create_task(client(url, key, symbol, received, subscribed)))
        if n % 25 == 24:
            await asyncio.sleep(0.05)  # connect in waves, as clients arrive
    for _ in mine:
        done, _pending = await asyncio.wait([asyncio.create_task(subscribed.get()), *[t for t in tasks if t.done()]],
                                            return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task in tasks and task.exception():
                raise task.exception()
    received.clear()  # snapshots on subscribe are not part of the run
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)  # "stop"
    for task in tasks:
        task.cancel()
    rows = []
    for raw, at in received:
        message = json.loads(raw)
        if message.get("type") == "market_data":
            rows.append((message["symbol"], message["data"]["volume"], at))
    Path(args.out).write_text(json.dumps(rows))


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"the feed did not start on port {port} (see its output above)")


def make_keys(count: int) -> list[str]:
    from accounts.models import User
    from accounts.services import apikeys
    from accounts.services.usersettings import set_analyze_mode

    keys = []
    for n in range(count):
        user, _ = User.objects.get_or_create(username=f"feedbench{n}", defaults={"email": f"fb{n}@example.com"})
        set_analyze_mode(user, True)  # market data from the price store
        user.api_keys.filter(name="feed-bench").delete()
        keys.append(apikeys.create_key(user, "feed-bench")[1])
    return keys


def percentile(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, int(len(values) * share))]


def run(args: argparse.Namespace, keys: list[str]) -> list:
    names = symbols(args.instruments)
    plan = [(keys[n // CLIENTS_PER_KEY], names[n % len(names)]) for n in range(args.clients)]
    files = []
    workers = []
    for index in range(args.workers):
        handle, name = tempfile.mkstemp(prefix="feed-bench-clients-", suffix=".json")
        os.close(handle)
        Path(name).write_text(json.dumps(plan))
        files.append(Path(name))
        workers.append(subprocess.Popen(
            [sys.executable, __file__, "--client-worker", "--index", str(index), "--workers", str(args.workers),
             "--port", str(args.port), "--out", name], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
    connect_start = time.monotonic()
    for worker in workers:
        if worker.stdout.readline().strip() != "ready":
            raise SystemExit("a client worker failed (see its output above)")
    print(f"{args.clients} clients connected and subscribed in {time.monotonic() - connect_start:.1f} s "
          f"({args.workers} client processes); publishing for {args.seconds:g} s ...", flush=True)
    handle, name = tempfile.mkstemp(prefix="feed-bench-", suffix=".json")
    os.close(handle)
    out = Path(name)
    feed_cpu_start = args.feed_process.cpu_times()
    wall_start = time.monotonic()
    subprocess.run([sys.executable, __file__, "--publisher", "--out", str(out), "--seconds", str(args.seconds),
                    "--rate", str(args.rate), "--instruments", str(args.instruments),
                    *(["--store"] if args.store else [])], check=True)
    wall = time.monotonic() - wall_start
    cpu = args.feed_process.cpu_times()
    args.feed_cpu = (cpu.user - feed_cpu_start.user + cpu.system - feed_cpu_start.system) / wall
    time.sleep(2.0)  # let the last messages arrive
    received: list = []
    for worker, path in zip(workers, files, strict=True):
        worker.communicate("stop\n", timeout=60)
        received.extend(tuple(item) for item in json.loads(path.read_text()))
        path.unlink()
    args.published = json.loads(out.read_text())
    out.unlink()
    return received


def report(args: argparse.Namespace, received: list) -> None:
    sent = {(symbol, seq): at for symbol, seq, at in args.published["sent"]}
    per_symbol = args.clients // args.instruments
    readers: dict[str, int] = {}
    for n in range(args.clients):
        name = symbols(args.instruments)[n % args.instruments]
        readers[name] = readers.get(name, 0) + 1
    expected = sum(readers[symbol] for symbol, _ in sent)
    latencies = sorted((at - sent[(symbol, seq)]) * 1000 for symbol, seq, at in received if (symbol, seq) in sent)
    got = len(latencies)
    elapsed = args.published["elapsed"]
    print(f"bus: {'Redis channel layer' if os.environ.get('REDIS_URL') else 'Unix socket (embedded default)'}; "
          f"source: {'set_price (the price store)' if args.store else 'the price store receiver (bus.publish)'}")
    print(f"published {len(sent)} updates in {elapsed:.1f} s ({len(sent) / elapsed:.0f}/s, "
          f"{args.instruments} instruments), {per_symbol} clients per instrument; dropped by the publisher: "
          f"{args.published['dropped']}")
    print(f"delivered {got} of {expected} expected messages ({got / elapsed:.0f}/s); lost: {expected - got}")
    if latencies:
        print(f"latency price store -> client: p50 {percentile(latencies, 0.5):.2f} ms, "
              f"p99 {percentile(latencies, 0.99):.2f} ms, max {latencies[-1]:.2f} ms")
    print(f"feed process CPU: {args.feed_cpu * 100:.0f}% of one core (user + system, over the publishing window)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--instruments", type=int, default=100)
    parser.add_argument("--rate", type=float, default=10.0, help="Updates per second per instrument.")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--port", type=int, default=8452)
    parser.add_argument("--store", action="store_true", help="Publish through set_price (the price store).")
    parser.add_argument("--workers", type=int, default=4, help="Processes the clients are spread over.")
    parser.add_argument("--publisher", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--client-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--index", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client_worker:
        asyncio.run(client_worker(args))
        return
    prepare_environment()
    if args.publisher:
        publish(args)
        return
    import psutil
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    keys = make_keys(-(-args.clients // CLIENTS_PER_KEY))
    # Connecting 500 clients at once is a storm of authentications (the first of each key runs Argon2); the
    # bench waits for them, so the deadline must not close the slow ones on a loaded machine.
    env = {**os.environ, "FEED_MAX_CONNECTIONS_PER_KEY": str(CLIENTS_PER_KEY), "FEED_AUTH_TIMEOUT": "300"}
    feed = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "feed", "--port", str(args.port),
                             "--log-level", "warning"], env=env, cwd=ROOT)
    try:
        wait_for_port(args.port)
        args.feed_process = psutil.Process(feed.pid)
        report(args, run(args, keys))
    finally:
        feed.terminate()
        feed.wait(10)


if __name__ == "__main__":
    main()
