"""One WebSocket connection speaking OpenAlgo's feed protocol (feed.protocol has the facts).

Every message the client sends gets an answer: a bad one an error {"status": "error", "code", "message"},
never a silent drop. Everything the client receives goes through one bounded queue and one writer task,
so answers and ticks keep their order and a slow reader is dropped with a reason, not waited for.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from accounts.services import apikeys
from feed import events, limits, protocol, sources
from feed.hub import STORE, Hub
from feed.protocol import MODES, ProtocolError

log = logging.getLogger(__name__)
CLOSE_AUTH = 4401  # OpenAlgo's: not authenticated in time (also: the key stopped verifying)
CLOSE_POLICY = 1008  # a limit was passed (connections per key, a reader too slow for its queue)
MAX_AUTH_FAILURES = 3


class FeedConsumer(AsyncWebsocketConsumer):
    # No channel of its own: the hub fans ticks out to consumers in memory (a channel per connection would
    # cost a Redis subscription per client and a queue hop per tick).
    channel_layer_alias = "feed-consumers-take-no-channel"

    async def connect(self) -> None:
        self.hub: Hub = self.scope["feed_hub"]
        self.user_id: int | None = None
        self.username = ""
        self.key_id: int | None = None
        self.api_key = ""
        self.recheck: asyncio.Task | None = None
        self.released: asyncio.Task | None = None
        self.source, self.broker = STORE, "sandbox"
        self.subs: dict[tuple[str, str], set[int]] = {}
        self.count = 0  # (instrument, mode) pairs held, against FEED_MAX_SYMBOLS_PER_CONNECTION
        self.closing = False
        self.auth_failures = 0
        self.authenticating = self.late = False
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize=settings.FEED_SEND_QUEUE)
        await self.accept()
        self.writer = asyncio.create_task(self._write())
        self.deadline = asyncio.get_running_loop().call_later(settings.FEED_AUTH_TIMEOUT, self._auth_deadline)

    async def disconnect(self, code: int) -> None:
        if not hasattr(self, "writer"):  # gone before connect() finished
            return
        self.deadline.cancel()
        self.writer.cancel()
        if self.recheck is not None:
            self.recheck.cancel()
        self._leave()
        if self.released is not None:
            try:
                await self.released
            except Exception:  # the cache is out: the count's TTL frees the place
                log.exception("feed: could not release a connection of API key %s", self.key_id)

    # --- sending -------------------------------------------------------------------------------------
    def offer(self, text: str) -> bool:
        """Queue a message for this client; a full queue drops the client (it reads too slowly)."""
        if self.closing:
            return False
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            log.warning("feed: dropping user %s's connection: %s messages waiting", self.user_id, self.queue.qsize())
            self._drop(CLOSE_POLICY, f"too slow: {self.queue.qsize()} messages waiting (FEED_SEND_QUEUE)")
            return False
        return True

    def reply(self, message: dict[str, Any], data: dict[str, Any] | None = None) -> None:
        if data is not None and data.get("request_id") is not None:
            message["request_id"] = data["request_id"]
        self.offer(protocol.dumps(message))

    def reply_error(self, code: str, message: str) -> None:
        self.offer(protocol.error(code, message))

    async def _write(self) -> None:
        while True:
            await self.send(text_data=await self.queue.get())

    def _drop(self, code: int, reason: str) -> None:
        self.closing = True
        self._leave()
        asyncio.get_running_loop().create_task(self._close(code, reason))

    async def _close(self, code: int, reason: str, flush: bool = False) -> None:
        if flush:  # let an error already queued reach the client before the close frame
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._flushed(), 2)
        self.writer.cancel()
        await self.close(code=code, reason=reason[:120])

    async def _flushed(self) -> None:
        while not self.queue.empty():
            await asyncio.sleep(0.01)

    def _auth_deadline(self) -> None:
        if self.authenticating:  # a key arrived in time: its answer decides (authenticate() closes on failure)
            self.late = True
        elif self.user_id is None and not self.closing:
            self.closing = True
            asyncio.get_running_loop().create_task(self._close(CLOSE_AUTH, "auth timeout"))

    def _leave(self) -> None:
        if getattr(self, "_left", False):
            return
        self._left = True
        self.hub.forget(self, list(self.subs))
        self.subs.clear()
        if self.key_id is not None:  # its place in the key's count across feed processes (feed.limits)
            self.released = asyncio.get_running_loop().create_task(asyncio.to_thread(limits.give_back, self.key_id))

    async def _recheck(self) -> None:
        """Verify the key again every FEED_REAUTH_SECONDS: a key revoked or expired, or its user deactivated,
        while the connection is open closes it (4401). Cheap: the verification is cached, and the cache entry
        is dropped on any change of the key or its user (accounts.services.apikeys.forget/forget_user)."""
        while True:
            await asyncio.sleep(settings.FEED_REAUTH_SECONDS)
            try:
                found = await database_sync_to_async(apikeys.verify_with_user)(self.api_key)
                await asyncio.to_thread(limits.keep, self.key_id)
            except Exception:  # the cache or the database is out: keep the connection, try again next time
                log.exception("feed: could not re-check user %s's API key", self.user_id)
                continue
            if found is None or found[1] is None:
                log.info("feed: closing user %s's connection: its API key no longer verifies", self.user_id)
                # _drop() leaves the hub at once: no order update or tick reaches it from here on.
                self._drop(CLOSE_AUTH, "API key revoked or expired, or its user deactivated")
                return

    # --- receiving -----------------------------------------------------------------------------------
    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is None:
            self.reply_error("INVALID_MESSAGE", "Messages must be JSON text frames")
            return
        try:
            data = json.loads(text_data)
        except ValueError:
            self.reply_error("INVALID_JSON", "Invalid JSON message")
            return
        if not isinstance(data, dict):
            self.reply_error("INVALID_JSON", "A message must be a JSON object with an \"action\"")
            return
        action = data.get("action") or data.get("type")
        handler = self.HANDLERS.get(action) if isinstance(action, str) else None
        if handler is None:
            self.reply_error("INVALID_ACTION", f"Invalid action: {action}")
            return
        try:
            if handler != "authenticate" and handler != "ping" and self.user_id is None:
                raise ProtocolError("NOT_AUTHENTICATED", "You must authenticate first")
            await getattr(self, handler)(data)
        except ProtocolError as exc:
            self.reply_error(exc.code, str(exc))
        except Exception as exc:
            log.exception("feed: %s failed", action)
            self.reply_error("SERVER_ERROR", f"{action} failed: {type(exc).__name__}")

    HANDLERS = {
        "authenticate": "authenticate", "auth": "authenticate",
        "subscribe": "subscribe", "unsubscribe": "unsubscribe", "unsubscribe_all": "unsubscribe",
        "subscribe_orders": "subscribe_orders", "unsubscribe_orders": "unsubscribe_orders",
        "ping": "ping", "get_broker_info": "broker_info",
    }

    async def authenticate(self, data: dict[str, Any]) -> None:
        if self.user_id is not None:
            raise ProtocolError("ALREADY_AUTHENTICATED", "This connection is already authenticated")
        key = data.get("api_key") or data.get("apikey")
        if not isinstance(key, str) or not key:
            raise ProtocolError("AUTHENTICATION_ERROR", "API key is required (api_key)")
        self.authenticating = True
        try:
            found = await database_sync_to_async(apikeys.verify_with_user)(key)
        finally:
            self.authenticating = False
        if found is None or found[1] is None:
            self.auth_failures += 1
            self.reply_error("AUTHENTICATION_ERROR", "Invalid API key")
            if self.auth_failures >= MAX_AUTH_FAILURES or self.late:
                self.closing = True
                await self._close(CLOSE_AUTH, "auth timeout" if self.late else "authentication failed", flush=True)
            return
        verified, user = found
        if not await asyncio.to_thread(limits.take, verified.key_id, settings.FEED_MAX_CONNECTIONS_PER_KEY):
            self.reply_error("CONNECTION_LIMIT", f"At most {settings.FEED_MAX_CONNECTIONS_PER_KEY} feed connections "
                                                 "per API key (FEED_MAX_CONNECTIONS_PER_KEY)")
            self.closing = True
            await self._close(CLOSE_POLICY, "too many connections for this API key", flush=True)
            return
        self.key_id = verified.key_id  # counted from here on: _leave() gives its place back
        if getattr(self, "_left", False):  # the connection went while the count was taken
            await asyncio.to_thread(limits.give_back, verified.key_id)
            return
        self.source, self.broker = await database_sync_to_async(sources.source_for)(user)
        self.user_id, self.username, self.api_key = user.pk, user.get_username(), key
        self.deadline.cancel()
        self.recheck = asyncio.get_running_loop().create_task(self._recheck())
        self.reply({"type": "auth", "status": "success", "message": "Authentication successful",
                    "broker": self.broker, "user_id": self.username,
                    "supported_features": {"ltp": True, "quote": True, "depth": True, "orders": True}})

    async def subscribe(self, data: dict[str, Any]) -> None:
        mode = protocol.mode_of(data.get("mode", "Quote"))  # OpenAlgo's default mode is Quote
        items = protocol.requested_symbols(data)
        if not items:
            raise ProtocolError("INVALID_PARAMETERS", "At least one symbol must be specified")
        answers, new = [], []
        for item in items:
            try:
                exchange, symbol = protocol.instrument(item)
                modes = self.subs.get((exchange, symbol), set())
                if mode not in modes:
                    if self.count >= settings.FEED_MAX_SYMBOLS_PER_CONNECTION:
                        raise ProtocolError("SYMBOL_LIMIT", f"At most {settings.FEED_MAX_SYMBOLS_PER_CONNECTION} "
                                                            "subscriptions per connection")
                    self.subs.setdefault((exchange, symbol), set()).add(mode)
                    self.count += 1
                    self.hub.subscribe(self, exchange, symbol, mode)
                    new.append((exchange, symbol))
            except ProtocolError as exc:
                answers.append({"symbol": item.get("symbol"), "exchange": item.get("exchange"), "status": "error",
                                "code": exc.code, "message": str(exc), "broker": self.broker})
                continue
            answers.append({"symbol": symbol, "exchange": exchange, "status": "success", "mode": MODES[mode],
                            "depth": protocol.DEPTH_LEVELS, "broker": self.broker})
        ok = all(answer["status"] == "success" for answer in answers)
        self.reply({"type": "subscribe", "status": "success" if ok else "partial", "subscriptions": answers,
                    "message": "Subscription processing complete", "broker": self.broker}, data)
        if new and self.source == STORE:
            await self._send_stored(new, mode)

    async def _send_stored(self, pairs: list[tuple[str, str]], mode: int) -> None:
        """A new subscriber gets the stored quote at once, as a broker sends a snapshot on subscribe."""
        from sandbox.services.prices import stored_quotes

        quotes = await database_sync_to_async(stored_quotes)(pairs)
        for pair in pairs:
            quote = quotes.get(pair)
            if quote is not None and mode in self.subs.get(pair, ()):
                self.offer(protocol.store_tick(events.tick(quote)).text(mode))

    async def unsubscribe(self, data: dict[str, Any]) -> None:
        everything = (data.get("action") or data.get("type")) == "unsubscribe_all"
        targets: list[tuple[str, str, int | None]] = []
        done, failed = [], []
        if everything:
            targets = [(ex, sym, None) for ex, sym in self.subs]
        else:
            items = protocol.requested_symbols(data)
            if not items:
                raise ProtocolError("INVALID_PARAMETERS", "Either symbols or unsubscribe_all is required")
            for item in items:
                try:
                    exchange, symbol = protocol.instrument(item)
                    mode = item.get("mode", data.get("mode"))
                    targets.append((exchange, symbol, None if mode is None else protocol.mode_of(mode)))
                except ProtocolError as exc:
                    failed.append({"symbol": item.get("symbol"), "exchange": item.get("exchange"), "status": "error",
                                   "code": exc.code, "message": str(exc), "broker": self.broker})
        for exchange, symbol, mode in targets:  # without a mode, every mode of the instrument goes
            modes = self.subs.get((exchange, symbol), set())
            gone = set(modes) if mode is None else modes & {mode}
            if gone:
                modes -= gone
                self.count -= len(gone)
                if not modes:
                    del self.subs[(exchange, symbol)]
                for each in gone:
                    self.hub.unsubscribe(self, exchange, symbol, each)
            done.append({"symbol": symbol, "exchange": exchange, "status": "success", "broker": self.broker})
        status = "error" if failed and not done else "partial" if failed else "success"
        self.reply({"type": "unsubscribe", "status": status, "message": "Unsubscription processing complete",
                    "successful": done, "failed": failed, "broker": self.broker}, data)

    async def subscribe_orders(self, data: dict[str, Any]) -> None:
        self.hub.order_readers[self.user_id].add(self)
        self.reply({"type": "subscribe_orders", "status": "success", "message": "Subscribed to order updates"}, data)

    async def unsubscribe_orders(self, data: dict[str, Any]) -> None:
        readers = self.hub.order_readers.get(self.user_id)
        if readers is not None:
            readers.discard(self)
            if not readers:
                del self.hub.order_readers[self.user_id]
        self.reply({"type": "unsubscribe_orders", "status": "success", "message": "Unsubscribed from order updates"},
                   data)

    async def ping(self, data: dict[str, Any]) -> None:
        answer: dict[str, Any] = {"type": "pong", "status": "success", "server_timestamp": protocol.now_ms()}
        for echoed in ("timestamp", "_pingId"):
            if data.get(echoed) is not None:
                answer["client_timestamp" if echoed == "timestamp" else echoed] = data[echoed]
        self.reply(answer)

    async def broker_info(self, data: dict[str, Any]) -> None:
        self.reply({"type": "broker_info", "status": "success", "broker": self.broker, "user_id": self.username,
                    "adapter_status": "connected" if self.source == STORE else self.hub.upstream_status(self.source)},
                   data)
