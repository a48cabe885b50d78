"""A live feed (uvicorn in a thread, on a port the OS picks) and helpers to talk to it.

The feed runs in this process, so it sees the test database (transactional tests: rows are committed),
and prices set here reach it as they do in production: the price store's signal, after commit, over the
bus (the Unix socket on the embedded default, the Redis channel layer when REDIS_URL is set).
"""
from __future__ import annotations

import asyncio
import importlib
import json
import sys
import threading
import time
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import websockets
from django.conf import settings
from django.db import connections

from feed.server import bound_socket, make_server


@dataclass
class LiveFeed:
    port: int
    server: Any

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def hub(self):
        return self.server.config.app.hub


def start_feed() -> tuple[LiveFeed, threading.Thread]:
    sock = bound_socket()
    server = make_server(port=0, log_level="warning")
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the feed did not start"
        time.sleep(0.02)
    return LiveFeed(sock.getsockname()[1], server), thread


@pytest.fixture
def feed(transactional_db):
    live, thread = start_feed()
    yield live
    live.server.should_exit = True
    thread.join(10)


async def orm(func, *args, **kwargs):
    """Run ORM code from a test's event loop in a worker thread, closing that thread's connections after
    (a worker thread's connection would outlive the test and keep PostgreSQL's test database open)."""
    def run():
        try:
            return func(*args, **kwargs)
        finally:
            connections.close_all()

    return await asyncio.to_thread(run)


def wait_for(predicate, timeout: float = 5.0, what: str = "the condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


class Raw:
    """A bare WebSocket client (the `websockets` library) for protocol-level checks."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def __aenter__(self) -> Raw:
        self.ws = await websockets.connect(self.url)
        return self

    async def __aexit__(self, *exc) -> None:
        await self.ws.close()

    async def send(self, message: Any) -> None:
        await self.ws.send(message if isinstance(message, str | bytes) else json.dumps(message))

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        return json.loads(await asyncio.wait_for(self.ws.recv(), timeout))

    async def ask(self, message: Any, timeout: float = 5.0) -> dict[str, Any]:
        await self.send(message)
        return await self.recv(timeout)

    async def until(self, predicate, timeout: float = 5.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            message = await self.recv(max(deadline - time.monotonic(), 0.01))
            if predicate(message):
                return message


def openalgo2_feed_api():
    """The official client's 2.0.x FeedAPI (the one with subscribe_orders), unchanged, loaded from the copy
    scripts/setup installs beside the 1.0.x client (requirements/feed-client.txt)."""
    root = Path(settings.BASE_DIR) / ".venv" / "clients" / "openalgo-2" / "openalgo"
    if not (root / "feed.py").exists():
        pytest.skip("the openalgo 2.0.x client is not installed: run scripts/setup dev")
    if "openalgo2" not in sys.modules:
        package = types.ModuleType("openalgo2")
        package.__path__ = [str(root)]  # its feed and base modules only; its package __init__ is not needed
        sys.modules["openalgo2"] = package
    return importlib.import_module("openalgo2.feed").FeedAPI



# The API tests' market (SBIN at 800, a NIFTY future) and personas: `owner` and `other`, traders in analyze
# mode (their orders fill in their own sandboxes; their market data comes from the price store).
from tests.api.conftest import market, other, owner  # noqa: E402, F401


@pytest.fixture(autouse=True)
def _feed_test_settings(settings):
    settings.RATE_LIMITS_ENABLED = False
    settings.ENFORCE_MARKET_HOURS = False
