"""Upstream feeds: linked accounts' OpenAlgo-compatible WebSocket servers, with failover and fail-back.

Per source ("user:<id>") one link holds one upstream connection, to the first healthy account in failover
order (feed.sources.feed_accounts). Each instrument is subscribed upstream once, at the highest mode any
client wants, however many clients want it, and released when the last one leaves. When the connection
drops, the link connects to the next healthy account and replays the subscriptions; while a lower account
serves, the primary is tried every FEED_UPSTREAM_RETRY_SECONDS and takes over again once it answers.
Each connection is a brokers.WebSocketConnection row (status, times, messages received, last heartbeat);
each switch a brokers.FailoverEvent (kind failover or failback, reason "feed: ...").
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from typing import Any

import websockets
from channels.db import database_sync_to_async
from django.conf import settings
from django.utils import timezone

from feed import protocol
from feed.sources import FeedAccount, feed_accounts, user_of_source

log = logging.getLogger(__name__)
CONNECT_TIMEOUT = 5.0  # seconds to open an upstream connection and to hear its answer to authenticate


class UpstreamError(Exception):
    pass


# --- the seam to brokers' records (failover and health) ----------------------------------------------
@database_sync_to_async
def _accounts(user_id: int) -> list[FeedAccount]:
    return feed_accounts(user_id)


@database_sync_to_async
def _opened(account_id: int) -> int:
    from brokers.models import ConnectionStatus, WebSocketConnection

    now = timezone.now()
    return WebSocketConnection.objects.create(account_id=account_id, connection_id=uuid.uuid4().hex[:16],
                                              status=ConnectionStatus.CONNECTED, connected_at=now,
                                              last_heartbeat=now).pk


@database_sync_to_async
def _beat(row_id: int, messages: int, closed: bool = False) -> None:
    from brokers.models import ConnectionStatus, WebSocketConnection

    now = timezone.now()
    fields: dict[str, Any] = {"messages_received": messages, "last_heartbeat": now}
    if closed:
        fields.update(status=ConnectionStatus.DISCONNECTED, disconnected_at=now)
    WebSocketConnection.objects.filter(pk=row_id).update(**fields)


@database_sync_to_async
def _switched(user_id: int, from_id: int | None, to_id: int | None, reason: str, *, back: bool = False,
              error: str = "") -> None:
    """A FailoverEvent of the feed (its reason starts with "feed:"; the REST health checks' failover of the
    trading primary, brokers.services.failover, records its own). The feed follows the primary flag that
    service moves (feed.sources.feed_accounts orders by it) and never moves it: a feed that drops is not
    a reason to send orders elsewhere."""
    from brokers.models import FailoverEvent, FailoverKind

    FailoverEvent.objects.create(user_id=user_id, from_account_id=from_id, to_account_id=to_id, reason=reason,
                                 kind=FailoverKind.FAILBACK if back else FailoverKind.FAILOVER,
                                 success=to_id is not None, error=error)


# --- one upstream connection ---------------------------------------------------------------------------
async def connect(account: FeedAccount) -> tuple[Any, str]:
    """Open and authenticate a connection to the account's feed: (connection, the upstream's broker name)."""
    beat = settings.FEED_UPSTREAM_HEARTBEAT_SECONDS
    try:
        ws = await websockets.connect(account.url, open_timeout=CONNECT_TIMEOUT, ping_interval=beat,
                                      ping_timeout=beat, max_size=2**22, compression=None)
    except (OSError, TimeoutError, websockets.exceptions.WebSocketException) as exc:
        raise UpstreamError(f"cannot connect to {account.url}: {exc}") from None
    try:
        await ws.send(json.dumps({"action": "authenticate", "api_key": account.api_key}))
        async with asyncio.timeout(CONNECT_TIMEOUT):
            while True:
                answer = json.loads(await ws.recv())
                if answer.get("type") == "auth" and answer.get("status") == "success":
                    return ws, str(answer.get("broker") or "openalgo")
                if answer.get("status") == "error":
                    raise UpstreamError(f"authentication refused: {answer.get('message')}")
    except (TimeoutError, ValueError, websockets.exceptions.WebSocketException, UpstreamError) as exc:
        await ws.close()
        if isinstance(exc, UpstreamError):
            raise
        raise UpstreamError(f"no answer to authenticate from {account.url}: {exc!r}") from None


def _subscribe_messages(wanted: dict[tuple[str, str], int]) -> list[str]:
    by_mode: dict[int, list[dict[str, str]]] = {}
    for (exchange, symbol), mode in wanted.items():
        by_mode.setdefault(mode, []).append({"exchange": exchange, "symbol": symbol})
    return [json.dumps({"action": "subscribe", "symbols": symbols, "mode": mode, "depth": protocol.DEPTH_LEVELS})
            for mode, symbols in sorted(by_mode.items())]


class Link:
    """The upstream of one source: the wanted instruments and the connection serving them."""

    def __init__(self, hub, source: str) -> None:
        self.hub, self.source = hub, source
        self.user_id = user_of_source(source)
        self.wanted: dict[tuple[str, str], int] = {}
        self.ws = None
        self.account: FeedAccount | None = None
        self.status = "connecting"
        self.messages = 0
        self.task = asyncio.get_running_loop().create_task(self._run())

    def want(self, exchange: str, symbol: str, mode: int) -> None:
        before = self.wanted.get((exchange, symbol), 0)
        if mode == before:
            return
        if mode:
            self.wanted[(exchange, symbol)] = mode
        else:
            self.wanted.pop((exchange, symbol), None)
        if self.ws is not None:
            item = [{"exchange": exchange, "symbol": symbol}]
            messages = []
            if mode:
                messages.append({"action": "subscribe", "symbols": item, "mode": mode, "depth": protocol.DEPTH_LEVELS})
            if before:
                messages.append({"action": "unsubscribe", "symbols": [{**item[0], "mode": before}]})
            asyncio.get_running_loop().create_task(self._send([json.dumps(m) for m in messages]))

    async def _send(self, messages: list[str]) -> None:
        ws = self.ws
        with contextlib.suppress(Exception):  # a dropped connection replays everything on the next one
            for message in messages:
                await ws.send(message)

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.task

    async def _run(self) -> None:
        serving: FeedAccount | None = None
        outage_recorded = False
        while True:
            try:
                serving, outage_recorded = await self._connect_and_serve(serving, outage_recorded)
            except asyncio.CancelledError:
                raise
            except Exception:  # a fault of ours must not end the link: log it and try again
                log.exception("feed: upstream link of %s failed", self.source)
                self.ws, self.status = None, "reconnecting"
                await asyncio.sleep(settings.FEED_UPSTREAM_RETRY_SECONDS)

    async def _connect_and_serve(self, serving: FeedAccount | None,
                                 outage_recorded: bool) -> tuple[FeedAccount | None, bool]:
        """Connect to the first account that answers, record a switch, serve until it drops (or the primary
        is back); returns what the next round needs to know."""
        accounts = await _accounts(self.user_id)
        chosen, errors = None, []
        for account in accounts:
            try:
                ws, broker = await connect(account)
            except UpstreamError as exc:
                errors.append(f"{account.name}: {exc}")
                log.warning("feed: upstream of %s (%s) failed: %s", account.name, self.source, exc)
                continue
            chosen = account
            break
        if chosen is None:
            self.status = "disconnected"
            if not outage_recorded:
                await _switched(self.user_id, serving.id if serving else None, None,
                                "feed: no linked account's feed answers", error="; ".join(errors)[:2000])
            await asyncio.sleep(settings.FEED_UPSTREAM_RETRY_SECONDS)
            return serving, True
        previous = serving or accounts[0]
        if previous.id != chosen.id:
            if accounts[0].id == chosen.id:
                await _switched(self.user_id, previous.id, chosen.id,
                                "feed: fail-back, the primary's feed is healthy again", back=True)
            else:
                await _switched(self.user_id, previous.id, chosen.id,
                                f"feed: {previous.name}'s feed dropped or did not answer",
                                error="; ".join(errors)[:2000])
        await self._serve(ws, chosen, broker, accounts)
        return chosen, False

    async def _serve(self, ws, account: FeedAccount, broker: str, accounts: list[FeedAccount]) -> None:
        """Replay the subscriptions and relay ticks until the connection drops or the primary is back."""
        row_id = await _opened(account.id)
        self.ws, self.account, self.status, self.messages = ws, account, "connected", 0
        for message in _subscribe_messages(self.wanted):
            await ws.send(message)
        tasks = [asyncio.create_task(self._read(ws, broker)), asyncio.create_task(self._beat(row_id))]
        if accounts and accounts[0].id != account.id:
            tasks.append(asyncio.create_task(self._primary_back(accounts[0])))
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            self.ws = None
            self.status = "reconnecting"
            await ws.close()
            await _beat(row_id, self.messages, closed=True)

    async def _read(self, ws, broker: str) -> None:
        with contextlib.suppress(websockets.exceptions.ConnectionClosed):
            async for raw in ws:
                self.messages += 1
                try:
                    message = json.loads(raw)
                except ValueError:
                    continue
                if message.get("type") == "market_data":
                    tick = protocol.upstream_tick(message, broker)
                    if tick is not None:
                        self.hub.deliver(self.source, tick)
                elif message.get("status") == "error":
                    log.warning("feed: upstream %s answered an error: %s", self.account.url, message.get("message"))

    async def _beat(self, row_id: int) -> None:
        while True:
            await asyncio.sleep(settings.FEED_UPSTREAM_HEARTBEAT_SECONDS)
            await _beat(row_id, self.messages)

    async def _primary_back(self, primary: FeedAccount) -> None:
        """Returns once the primary's feed answers again (the caller then switches back to it)."""
        while True:
            await asyncio.sleep(settings.FEED_UPSTREAM_RETRY_SECONDS)
            try:
                ws, _ = await connect(primary)
            except UpstreamError:
                continue
            await ws.close()
            return


class Upstreams:
    """The links of one feed process, made when a source's first instrument is wanted, closed with its last."""

    def __init__(self, hub) -> None:
        self.hub = hub
        self.links: dict[str, Link] = {}

    def want(self, source: str, exchange: str, symbol: str, mode: int) -> None:
        link = self.links.get(source)
        if link is None:
            if not mode:
                return
            link = self.links[source] = Link(self.hub, source)
        link.want(exchange, symbol, mode)
        if not link.wanted:
            del self.links[source]
            asyncio.get_running_loop().create_task(link.close())

    def status(self, source: str) -> str:
        link = self.links.get(source)
        return link.status if link else "idle"

    async def close(self) -> None:
        for link in list(self.links.values()):
            await link.close()
        self.links.clear()
