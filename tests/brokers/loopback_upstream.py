"""An OpenAlgo-like upstream on a real loopback socket that a test can stop and start again.

Each instance is one broker server (stdlib ThreadingHTTPServer in a thread) with its own order book.
stop() closes the listening socket, so the adapter's next request is refused exactly as when a
broker's server goes down; start() listens again on the same address and port, keeping the state.
`session_expired` makes it answer every request 403 "Invalid openalgo apikey" (OpenAlgo's answer to
a key it does not accept); `order_delay` books an order and answers too late (a lost answer). Its
order book echoes each order's `strategy` tag, as an upstream AlgoDesk does. Every request is logged
with the client address it came from, so tests can assert which source address (egress) an
account's traffic left from.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

API_KEY = "loopback-upstream-key"
IST = ZoneInfo("Asia/Kolkata")


@dataclass(frozen=True)
class Seen:
    path: str
    client_ip: str
    apikey: str


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # many checks connect at once; the default backlog of 5 would refuse some


class LoopbackUpstream:
    def __init__(self, name: str = "upstream", host: str = "127.0.0.1", port: int = 0,
                 api_keys: tuple[str, ...] = (API_KEY,)) -> None:
        self.name, self.host, self.port, self.api_keys = name, host, port, set(api_keys)
        self.session_expired = False
        self.order_delay = 0.0  # seconds placeorder waits after booking (past the read timeout: a lost answer)
        self.refuse_quotes = False  # answer quotes with a permanent 400 (the broker does not know the symbol)
        self.seen: list[Seen] = []
        self.placed: list[dict] = []
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self.server is not None

    def start(self) -> None:
        if self.server is not None:
            return
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {}
                status, answer = upstream.handle(self.path.rsplit("/", 1)[-1], body, self.client_address[0])
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        server = _Server((self.host, self.port), Handler)  # allow_reuse_address: same port again
        server.daemon_threads = True
        self.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True, name=f"upstream-{self.name}").start()
        self.server = server

    def stop(self) -> None:
        if self.server is None:
            return
        self.server.shutdown()
        self.server.server_close()
        self.server = None

    def handle(self, path: str, body: dict, client_ip: str) -> tuple[int, dict]:
        answer = self._answer(path, body, client_ip)
        if path == "placeorder" and self.order_delay:
            time.sleep(self.order_delay)  # outside the lock: the book stays readable
        return answer

    def _answer(self, path: str, body: dict, client_ip: str) -> tuple[int, dict]:
        with self.lock:
            self.seen.append(Seen(path, client_ip, str(body.get("apikey", ""))))
            if self.session_expired or body.get("apikey") not in self.api_keys:
                return 403, {"status": "error", "message": "Invalid openalgo apikey"}
            if path == "ping":
                return 200, {"status": "success", "data": {"message": "pong", "broker": self.name}}
            if path == "placeorder":
                self.placed.append({**body, "at": datetime.now(IST).strftime("%d-%b-%Y %H:%M:%S")})
                return 200, {"status": "success", "orderid": f"{self.name}-{len(self.placed)}"}
            if path == "orderbook":
                rows = [{"orderid": f"{self.name}-{i}", "action": b.get("action"), "exchange": b.get("exchange"),
                         "symbol": b.get("symbol"), "quantity": b.get("quantity"), "pricetype": b.get("pricetype"),
                         "product": b.get("product"), "price": "0", "trigger_price": "0", "average_price": "812.50",
                         "order_status": "complete", "timestamp": b["at"], "strategy": b.get("strategy", "")}
                        for i, b in enumerate(self.placed, start=1)]
                return 200, {"status": "success", "data": {"orders": rows, "statistics": {}}}
            if path == "quotes" and self.refuse_quotes:
                return 400, {"status": "error", "message": "Symbol not found at the broker"}
            if path in ("quotes", "depth"):
                data = {"ltp": "812.50", "open": "800", "high": "815", "low": "799", "prev_close": "805",
                        "bid": "812.45", "ask": "812.55", "volume": 1000, "source": self.name}
                if path == "depth":
                    data.update(bids=[{"price": "812.45", "quantity": 10}], asks=[{"price": "812.55", "quantity": 7}])
                return 200, {"status": "success", "data": data}
            if path == "history":
                return 200, {"status": "success", "data": [
                    {"timestamp": 1764561300, "open": "800", "high": "815", "low": "799", "close": "812.5",
                     "volume": 1000}]}
            if path == "intervals":
                return 200, {"status": "success", "data": {"minutes": ["1m", "5m"], "days": ["D"]}}
            if path == "funds":
                return 200, {"status": "success", "data": {"availablecash": "100000.00"}}
            return 404, {"status": "error", "message": f"no {path} here"}

    def count(self, path: str) -> int:
        with self.lock:
            return sum(1 for s in self.seen if s.path == path)

    def clients(self, apikey: str | None = None) -> set[str]:
        """The client addresses requests came from (those carrying `apikey`, if given)."""
        with self.lock:
            return {s.client_ip for s in self.seen if apikey is None or s.apikey == apikey}


def accounts_on(user, servers: dict[str, LoopbackUpstream], *, primary: str | None = None) -> dict:
    """One openalgo trading account of `user` per server, named like it, priorities in order; `primary`
    (by name) made primary."""
    from brokers.services.accounts import make_primary
    from tests.brokers.factories import TradingAccountFactory

    accounts = {name: TradingAccountFactory(user=user, name=name, broker="openalgo", priority=i,
                                            credentials={"host_url": server.url, "api_key": API_KEY})
                for i, (name, server) in enumerate(servers.items(), start=1)}
    if primary:
        make_primary(accounts[primary])
    return accounts
