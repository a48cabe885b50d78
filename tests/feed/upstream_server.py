"""A real local WebSocket server speaking OpenAlgo's feed protocol (the `websockets` library), standing in for
a linked account's upstream feed: it checks the API key, records subscriptions and pushes ticks on demand.
The tests stop and restart it to see the feed fail over and back."""
from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import websockets


class FakeUpstream:
    def __init__(self, api_key: str, broker: str = "zerodha") -> None:
        self.api_key, self.broker = api_key, broker
        self.port: int | None = None
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = None
        self.connections: set[Any] = set()
        self.subscriptions: dict[Any, dict[tuple[str, str], int]] = {}
        self.log: list[dict[str, Any]] = []  # every message received, in order

    def _call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def start(self) -> FakeUpstream:
        self._call(self._start())
        return self

    async def _start(self) -> None:
        self.server = await websockets.serve(self._handle, "127.0.0.1", self.port or 0)
        self.port = self.server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Close the server and drop every connection (as a crashed upstream would)."""
        self._call(self._stop())

    async def _stop(self) -> None:
        self.server.close()
        for ws in list(self.connections):
            ws.transport.abort()
        await self.server.wait_closed()
        self.connections.clear()
        self.subscriptions.clear()

    def close(self) -> None:
        if self.server is not None and self.server.is_serving():
            self.stop()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    @property
    def wanted(self) -> dict[tuple[str, str], int]:
        """What the connected clients are subscribed to, across connections."""
        merged: dict[tuple[str, str], int] = {}
        for subs in list(self.subscriptions.values()):
            merged.update(subs)
        return merged

    def push(self, exchange: str, symbol: str, ltp: float) -> int:
        """Send a tick to every connection subscribed to the instrument, at its subscribed mode."""
        return self._call(self._push(exchange, symbol, ltp))

    async def _push(self, exchange: str, symbol: str, ltp: float) -> int:
        sent = 0
        for ws, subs in list(self.subscriptions.items()):
            mode = subs.get((exchange, symbol))
            if mode:
                data = {"ltp": ltp, "timestamp": 1, "open": ltp, "high": ltp, "low": ltp, "close": ltp,
                        "volume": 1, "bid": ltp, "ask": ltp}
                await ws.send(json.dumps({"type": "market_data", "symbol": symbol, "exchange": exchange,
                                          "mode": mode, "broker": self.broker, "data": data}))
                sent += 1
        return sent

    async def _handle(self, ws) -> None:
        self.connections.add(ws)
        authed = False
        try:
            async for raw in ws:
                message = json.loads(raw)
                self.log.append(message)
                action = message.get("action")
                if action == "authenticate":
                    authed = message.get("api_key") == self.api_key
                    await ws.send(json.dumps({"type": "auth", "status": "success", "broker": self.broker,
                                              "user_id": "upstream"} if authed else
                                             {"status": "error", "code": "AUTHENTICATION_ERROR",
                                              "message": "Invalid API key"}))
                elif action == "subscribe" and authed:
                    subs = self.subscriptions.setdefault(ws, {})
                    for item in message["symbols"]:
                        subs[(item["exchange"], item["symbol"])] = message["mode"]
                    await ws.send(json.dumps({"type": "subscribe", "status": "success", "subscriptions": []}))
                elif action == "unsubscribe" and authed:
                    subs = self.subscriptions.setdefault(ws, {})
                    for item in message["symbols"]:
                        if subs.get((item["exchange"], item["symbol"])) == item.get("mode"):
                            del subs[(item["exchange"], item["symbol"])]
                    await ws.send(json.dumps({"type": "unsubscribe", "status": "success"}))
        except websockets.exceptions.ConnectionClosed:
            pass
        finally:
            self.connections.discard(ws)
            self.subscriptions.pop(ws, None)
