"""How every process reaches the feed process: price ticks and order changes, published after commit.

Two transports, one message shape (a JSON object with "k": "tick" or "order"):

- With Redis (REDIS_URL), Channels' layer (channels_redis's publish/subscribe layer): every feed process
  joins one group and gets every event; a process without an event loop publishes from one background
  thread with its own loop, in order (asgiref's async_to_sync would open a new loop, and a new Redis
  connection, per call).
- On the embedded default there is no broker between processes, so the feed process listens on a Unix
  socket (FEED_SOCKET) and each other process keeps one connection to it, written by a thread of its
  own: nothing written to disk, in order per process, never a wait for the writer of a price or an
  order, and with no feed running it costs a failed connect now and then.
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
import queue
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings

log = logging.getLogger(__name__)
GROUP = "algodesk.feed"
BATCH = 500  # events a publisher sends in one write or one channel-layer message when they queue up


def publish(event: dict[str, Any]) -> None:
    """Hand one event to the feed process(es). Never raises: the feed is a reader of the books, and an
    order or a price must never fail because no feed is listening."""
    body = json.dumps(event, separators=(",", ":"), default=str)
    try:
        if get_channel_layer() is not None:
            layer_publisher().put(body)
        else:
            socket_sender().send(body.encode())
    except Exception:  # a publisher must not break the writer; the feed is best-effort by nature
        log.exception("feed: could not publish a %s event", event.get("k"))


# --- Embedded default: a Unix stream socket ------------------------------------------------------
class SocketSender:
    """This process's connection to the feed process: newline-separated JSON written by one thread.

    A stream, not datagrams: Linux queues only net.unix.max_dgram_qlen (often 10) datagrams per socket,
    while a stream buffers ~200 KB. A thread writes, so a writer of prices or orders never waits for the
    feed: publish() only queues (a full queue, a feed stalled for thousands of events, drops the newest
    and counts it). Without a feed process, connecting is retried at most every RETRY seconds and events are
    dropped meanwhile (nobody is listening, so nothing is lost that matters).
    """

    RETRY = 0.1  # seconds between attempts to connect while no feed process listens (a failed one is cheap)
    BACKLOG = 20_000  # events queued for a slow feed process before new ones are dropped
    TIMEOUT = 5.0  # seconds one write may wait for the feed to read before the connection is renewed

    def __init__(self) -> None:
        self.queue: queue.Queue[bytes | None] = queue.Queue(self.BACKLOG)
        self.sock: socket.socket | None = None
        self.next_try = 0.0
        self.dropped = 0
        self.thread = threading.Thread(target=self._run, name="feed-sender", daemon=True)
        self.thread.start()
        atexit.register(self.close)

    def send(self, body: bytes) -> None:
        try:
            self.queue.put_nowait(body + b"\n")
        except queue.Full:
            self.dropped += 1
            if self.dropped % 1000 == 1:
                log.warning("feed: the feed process is not reading; %s events dropped so far", self.dropped)

    def close(self, timeout: float = 2.0) -> None:
        """Write what is queued (a short-lived command such as `prices set` exits right after publishing)."""
        if self.thread.is_alive():
            with contextlib.suppress(queue.Full):
                self.queue.put(None, timeout=timeout)
            self.thread.join(timeout)

    def _run(self) -> None:
        while True:
            body = self.queue.get()
            parts = [body]
            while body is not None and len(parts) < BATCH:  # a burst goes in one write
                try:
                    body = self.queue.get_nowait()
                except queue.Empty:
                    break
                parts.append(body)
            stop = None in parts
            body = b"".join(parts[:parts.index(None)] if stop else parts)
            if body:
                self._write(body)
            if stop:
                return

    def _write(self, body: bytes) -> None:
        for attempt in (1, 2):  # a stream to a feed that restarted fails once: reconnect and write again
            if self.sock is None and not self._connect(force=attempt == 2):
                return  # no feed process: these events have no reader
            try:
                self.sock.sendall(body)
                return
            except OSError as exc:  # the feed went away, or did not read for TIMEOUT
                self.sock.close()
                self.sock = None
                if attempt == 2:
                    self.dropped += body.count(b"\n")
                    log.warning("feed: dropped events for the feed process (%s)", exc)

    def _connect(self, force: bool = False) -> bool:
        now = time.monotonic()
        if now < self.next_try and not force:
            return False
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.TIMEOUT)
        try:
            sock.connect(settings.FEED_SOCKET)
        except OSError:
            sock.close()
            self.next_try = now + self.RETRY
            return False
        self.sock = sock
        return True


_sender: tuple[int, SocketSender] | None = None
_sender_lock = threading.Lock()


def socket_sender() -> SocketSender:
    global _sender
    with _sender_lock:
        if _sender is None or _sender[0] != os.getpid():  # a thread and a connection per process (fork-safe)
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
        # Bounded: while Redis is unreachable events are dropped (and counted), never piled up in memory.
        self.queue: asyncio.Queue[str | None] = asyncio.Queue(SocketSender.BACKLOG)
        self.dropped = 0
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._drain(),),
                                       name="feed-publisher", daemon=True)
        self.thread.start()
        atexit.register(self.close)

    def put(self, body: str | None) -> None:
        self.loop.call_soon_threadsafe(self._put, body)

    def _put(self, body: str | None) -> None:
        try:
            self.queue.put_nowait(body)
        except asyncio.QueueFull:
            if body is None:  # close(): make room for the stop
                self.queue.get_nowait()
                self.queue.put_nowait(None)
            self.dropped += 1
            if self.dropped % 1000 == 1:
                log.warning("feed: the channel layer is not taking events; %s dropped so far", self.dropped)

    def close(self, timeout: float = 2.0) -> None:
        """Send what is queued (a short-lived command such as `prices set` exits right after publishing)."""
        if self.thread.is_alive():
            self.put(None)
            self.thread.join(timeout)

    async def _drain(self) -> None:
        layer = get_channel_layer()
        while True:
            # Everything queued goes in one message: one Redis round trip for a burst, in order.
            bodies, stop = [await self.queue.get()], False
            while not self.queue.empty() and len(bodies) < BATCH:
                bodies.append(self.queue.get_nowait())
            if None in bodies:
                bodies, stop = bodies[:bodies.index(None)], True
            if bodies:
                try:
                    await layer.group_send(GROUP, {"type": "feed.event", "body": "[" + ",".join(bodies) + "]"})
                except Exception:
                    log.exception("feed: could not publish to the channel layer")
            if stop:
                return


_publisher: tuple[int, LayerPublisher] | None = None
_publisher_lock = threading.Lock()


def layer_publisher() -> LayerPublisher:
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
                    events = json.loads(message["body"])
                except ValueError:
                    log.exception("feed: bad message from the channel layer")
                    continue
                for event in events:
                    try:
                        self.handle(event)
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
