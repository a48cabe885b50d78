"""How every process reaches the feed process: price ticks and order changes, published after commit.

Two transports, one message shape (a JSON object with "k": "tick" or "order"):

- With Redis (REDIS_URL), Channels' layer (channels_redis's publish/subscribe layer): every feed process
  joins one group and gets every event; a process without an event loop publishes from one background
  thread with its own loop, in order (asgiref's async_to_sync would open a new loop, and a new Redis
  connection, per call).
- On the embedded default there is no broker between processes, so the feed process listens on a Unix
  socket (FEED_SOCKET) and each other process keeps one connection to it: one write per event, nothing
  written to disk, in order per process, and with no feed running it costs one failed connect a second.
  Polling the price store instead would coalesce ticks and add the poll interval to every one. One feed
  process per machine on this default (the socket has one owner); with Redis run as many as you like.

A tick lost while no feed runs is no loss: a subscriber gets the stored quote when it subscribes.
"""
from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings

log = logging.getLogger(__name__)
GROUP = "algodesk.feed"
_SEND_TIMEOUT = 0.05  # seconds a publisher waits for a busy feed process before dropping the event


def publish(event: dict[str, Any]) -> None:
    """Hand one event to the feed process(es). Never raises: the feed is a reader of the books, and an
    order or a price must never fail because no feed is listening."""
    body = json.dumps(event, separators=(",", ":"), default=str)
    try:
        if get_channel_layer() is not None:
            _layer_publisher().put(body)
        else:
            socket_sender().send(body.encode())
    except Exception:  # a publisher must not break the writer; the feed is best-effort by nature
        log.exception("feed: could not publish a %s event", event.get("k"))


# --- Embedded default: a Unix stream socket ------------------------------------------------------
class SocketSender:
    """This process's connection to the feed process: newline-separated JSON, one write per event.

    A stream, not datagrams: Linux queues only net.unix.max_dgram_qlen (often 10) datagrams per socket,
    while a stream buffers ~200 KB, so a burst never blocks the writer. Without a feed process, connecting
    is retried at most once a second (nobody is listening meanwhile, so nothing is lost that matters).
    """

    RETRY = 1.0

    def __init__(self) -> None:
        self.sock: socket.socket | None = None
        self.next_try = 0.0
        self.lock = threading.Lock()  # gunicorn's threads share the process's connection
        self.dropped = 0  # events dropped because the feed did not read them in time

    def send(self, body: bytes) -> None:
        with self.lock:
            if self.sock is None and not self._connect():
                return
            try:
                self.sock.sendall(body + b"\n")
            except OSError as exc:  # a timeout mid-write would garble the stream: start a new one
                self.dropped += 1
                log.warning("feed: dropped an event for the feed process (%s); reconnecting", exc)
                self.sock.close()
                self.sock = None

    def _connect(self) -> bool:
        now = time.monotonic()
        if now < self.next_try:
            return False
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(_SEND_TIMEOUT)
        try:
            sock.connect(settings.FEED_SOCKET)
        except OSError:
            sock.close()
            self.next_try = now + self.RETRY
            return False
        self.sock = sock
        return True


_sender: tuple[int, SocketSender] | None = None


def socket_sender() -> SocketSender:
    global _sender
    if _sender is None or _sender[0] != os.getpid():  # never share a connection across a fork
        _sender = (os.getpid(), SocketSender())
    return _sender[1]


class SocketReceiver:
    """The feed process's end: listens on FEED_SOCKET and hands each event to `handle`."""

    def __init__(self, handle: Callable[[dict[str, Any]], None]) -> None:
        self.handle = handle
        self.path = settings.FEED_SOCKET
        self.server: asyncio.AbstractServer | None = None
        self.ready = asyncio.Event()

    async def start(self) -> None:
        path = self.path
        if os.path.exists(path):
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                probe.connect(path)
            except OSError:
                os.unlink(path)  # left over by a feed that did not stop cleanly
            else:
                raise RuntimeError(f"Another feed process listens on {path} (FEED_SOCKET); stop it first.")
            finally:
                probe.close()
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        self.server = await asyncio.start_unix_server(self._serve, path)
        self.ready.set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async for line in reader:
                try:
                    self.handle(json.loads(line))
                except Exception:
                    log.exception("feed: bad event on %s", self.path)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # a writer went away, or the feed is stopping
        finally:
            writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)


# --- Redis: Channels' layer ------------------------------------------------------------------------
class LayerPublisher:
    """One thread with its own event loop that group_sends queued events, one after another (in order)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._drain(),),
                                       name="feed-publisher", daemon=True)
        self.thread.start()
        atexit.register(self.close)

    def put(self, body: str | None) -> None:
        self.loop.call_soon_threadsafe(self.queue.put_nowait, body)

    def close(self, timeout: float = 2.0) -> None:
        """Send what is queued (a short-lived command such as `prices set` exits right after publishing)."""
        if self.thread.is_alive():
            self.put(None)
            self.thread.join(timeout)

    async def _drain(self) -> None:
        layer = get_channel_layer()
        while (body := await self.queue.get()) is not None:
            try:
                await layer.group_send(GROUP, {"type": "feed.event", "body": body})
            except Exception:
                log.exception("feed: could not publish to the channel layer")


_publisher: tuple[int, LayerPublisher] | None = None
_publisher_lock = threading.Lock()


def _layer_publisher() -> LayerPublisher:
    global _publisher
    with _publisher_lock:
        if _publisher is None or _publisher[0] != os.getpid():
            _publisher = (os.getpid(), LayerPublisher())
        return _publisher[1]


class LayerReceiver:
    """The feed process's end on Redis: one channel in the group, read by one task."""

    def __init__(self, handle: Callable[[dict[str, Any]], None]) -> None:
        self.handle = handle
        self.task: asyncio.Task | None = None
        self.ready = asyncio.Event()

    async def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run())
        await self.ready.wait()

    async def _run(self) -> None:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(GROUP, channel)
        self.ready.set()
        try:
            while True:
                message = await layer.receive(channel)
                try:
                    self.handle(json.loads(message["body"]))
                except Exception:
                    log.exception("feed: bad event from the channel layer")
        finally:
            with contextlib.suppress(Exception):
                await layer.group_discard(GROUP, channel)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


def receiver(handle: Callable[[dict[str, Any]], None]) -> SocketReceiver | LayerReceiver:
    return LayerReceiver(handle) if get_channel_layer() is not None else SocketReceiver(handle)
