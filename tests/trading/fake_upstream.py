"""A fake OpenAlgo upstream on a real socket (stdlib HTTP server in a thread), for the lost-answer tests.

Unlike tests/brokers/upstream_urls (served by live_server, which replaces the URLconf), this one runs
beside the test client, so an order can go through AlgoDesk's own /api/v1/ to it. `mode` decides what
placeorder does: "fill" answers at once (a MARKET order completes); "slow" books the order then answers
after `delay` seconds (past the client's read timeout: the answer is lost, the order exists); "lost"
waits the same and books nothing (the request never reached the broker). `tags` makes the order book
echo each order's `strategy` (as an upstream AlgoDesk could); OpenAlgo's own book does not.
"""
from __future__ import annotations

import json
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

API_KEY = "fake-upstream-key"
IST = ZoneInfo("Asia/Kolkata")


class FakeUpstream:
    def __init__(self, port: int = 0) -> None:
        self.mode = "fill"
        self.delay = 0.6
        self.tags = False
        self.book_fails = False
        self.orders: list[dict] = []
        self.placed: list[dict] = []  # every placeorder body received
        self.lock = threading.Lock()
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                status, answer = upstream.handle(self.path.rsplit("/", 1)[-1], body)
                data = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up waiting (the lost answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add(self, body: dict, *, status: str = "complete", at: datetime | None = None) -> dict:
        with self.lock:
            row = {"orderid": f"26120100{len(self.orders) + 1:05d}", "action": body["action"],
                   "exchange": body["exchange"], "symbol": body["symbol"], "quantity": str(body["quantity"]),
                   "pricetype": body.get("pricetype", "MARKET"), "product": body.get("product", "MIS"),
                   "price": str(body.get("price", "0")), "trigger_price": "0", "order_status": status,
                   "average_price": "812.50" if status == "complete" else "0",
                   "timestamp": (at or datetime.now(IST)).astimezone(IST).strftime("%d-%b-%Y %H:%M:%S"),
                   "strategy": body.get("strategy", "")}
            self.orders.append(row)
            return row

    def handle(self, path: str, body: dict) -> tuple[int, dict]:
        if body.get("apikey") != API_KEY:
            return 403, {"status": "error", "message": "Invalid openalgo apikey"}
        if path == "placeorder":
            self.placed.append(body)
            if self.mode == "lost":
                time.sleep(self.delay)
                return 200, {"status": "success", "orderid": "never-seen"}
            row = self.add(body)
            if self.mode == "slow":
                time.sleep(self.delay)
            return 200, {"status": "success", "orderid": row["orderid"]}
        if path == "orderbook":
            if self.book_fails:
                return 500, {"status": "error", "message": "Broker session expired"}
            rows = [dict(row) if self.tags else {k: v for k, v in row.items() if k != "strategy"}
                    for row in self.orders]
            return 200, {"status": "success", "data": {"orders": rows, "statistics": {}}}
        if path == "quotes":
            return 200, {"status": "success", "data": {"ltp": "812.50", "bid": "812.45", "ask": "812.55"}}
        if path == "ping":
            return 200, {"status": "success", "data": {"message": "pong", "broker": "fake"}}
        return 404, {"status": "error", "message": f"no {path} here"}
