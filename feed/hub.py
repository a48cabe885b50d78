"""The feed process's switchboard: who wants which instrument in which mode, and whose order updates.

One hub per feed process (per event loop). Ticks arrive from the bus (the price store) or from an
upstream OpenAlgo server, each under a *source*: "store", or "user:<id>" for a user whose market data
comes from their linked account. A client reads one source, chosen when it authenticates. Delivery
never waits on a client: each client has a bounded queue, and a client whose queue is full is dropped
with a reason (consumers.FeedConsumer.offer) instead of slowing the others.
"""
from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any, Protocol

from channels.db import database_sync_to_async

from feed import protocol

log = logging.getLogger(__name__)
STORE = "store"


class Client(Protocol):
    user_id: int | None
    source: str

    def offer(self, text: str) -> bool: ...


class Hub:
    def __init__(self) -> None:
        # (source, exchange, symbol) -> {client: modes it holds}: a tick's readers in one look-up.
        self.index: dict[tuple[str, str, str], dict[Client, set[int]]] = defaultdict(dict)
        self.order_readers: dict[int, set[Client]] = defaultdict(set)
        self.upstreams = None  # feed.upstream.Upstreams, set by the application when it starts
        self.delivered = 0
        self._orders: asyncio.Queue[dict[str, Any]] | None = None
        self._order_task: asyncio.Task | None = None
        self._brokers: dict[int, str] = {}

    # --- market data -----------------------------------------------------------------------------
    def handle(self, event: dict[str, Any]) -> None:
        """One event from the bus."""
        kind = event.get("k")
        if kind == "tick":
            self.deliver(STORE, protocol.store_tick(event))
        elif kind == "order":
            self._order_queue().put_nowait(event)

    def deliver(self, source: str, tick: protocol.Tick) -> None:
        readers = self.index.get((source, tick.exchange, tick.symbol))
        if not readers:
            return
        for client, modes in list(readers.items()):
            for mode in modes:
                if mode <= tick.mode:  # a higher mode's tick carries every lower mode's fields
                    client.offer(tick.text(mode))
                    self.delivered += 1

    def subscribe(self, client: Client, exchange: str, symbol: str, mode: int) -> None:
        key = (client.source, exchange, symbol)
        self.index[key].setdefault(client, set()).add(mode)
        if client.source != STORE and self.upstreams is not None:
            self.upstreams.want(client.source, exchange, symbol, self.top_mode(key))

    def unsubscribe(self, client: Client, exchange: str, symbol: str, mode: int | None = None) -> None:
        key = (client.source, exchange, symbol)
        readers = self.index.get(key)
        if not readers or client not in readers:
            return
        modes = readers[client]
        if mode is None:
            modes.clear()
        else:
            modes.discard(mode)
        if not modes:
            del readers[client]
        if not readers:
            del self.index[key]
        if client.source != STORE and self.upstreams is not None:
            self.upstreams.want(client.source, exchange, symbol, self.top_mode(key))

    def top_mode(self, key: tuple[str, str, str]) -> int:
        """The highest mode anyone wants of this instrument (0: nobody; the upstream is released)."""
        return max((max(modes) for modes in self.index.get(key, {}).values() if modes), default=0)

    def instruments_of(self, source: str) -> dict[tuple[str, str], int]:
        """What a source's readers want: (exchange, symbol) -> highest mode (replayed on an upstream switch)."""
        return {(ex, sym): self.top_mode((src, ex, sym)) for src, ex, sym in list(self.index) if src == source}

    def upstream_status(self, source: str) -> str:
        return self.upstreams.status(source) if self.upstreams is not None else "disconnected"

    # --- order updates -----------------------------------------------------------------------------
    def _order_queue(self) -> asyncio.Queue:
        # One task delivers order updates in the order they were published (a broker's name may need a
        # look-up in the database, which must not let a later update overtake an earlier one).
        if self._orders is None:
            self._orders = asyncio.Queue()
            self._order_task = asyncio.get_running_loop().create_task(self._deliver_orders())
        return self._orders

    async def _deliver_orders(self) -> None:
        while True:
            event = await self._orders.get()
            try:
                readers = self.order_readers.get(int(event["uid"]))
                if not readers:
                    continue
                broker = "sandbox" if event.get("analyze") else await self._broker(event.get("aid"))
                text = protocol.dumps({"type": "order_update", **event["o"], "broker": broker})
                for client in list(readers):
                    client.offer(text)
            except Exception:
                log.exception("feed: could not deliver an order update")

    async def _broker(self, account_id: int | None) -> str:
        if account_id is None:
            return "unknown"
        if account_id not in self._brokers:
            from brokers.models import TradingAccount

            name = await database_sync_to_async(
                lambda: TradingAccount.objects.filter(pk=account_id).values_list("broker", flat=True).first())()
            self._brokers[account_id] = name or "unknown"
        return self._brokers[account_id]

    # --- connections ---------------------------------------------------------------------------------
    def forget(self, client: Client, instruments: list[tuple[str, str]]) -> None:
        """A client has gone: its subscriptions, its order updates."""
        for exchange, symbol in instruments:
            self.unsubscribe(client, exchange, symbol)
        if client.user_id is not None:
            readers = self.order_readers.get(client.user_id)
            if readers is not None:
                readers.discard(client)
                if not readers:
                    del self.order_readers[client.user_id]

    async def close(self) -> None:
        if self._order_task is not None:
            self._order_task.cancel()
        if self.upstreams is not None:
            await self.upstreams.close()
