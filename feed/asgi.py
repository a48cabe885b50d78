"""The feed's ASGI application (run by `manage.py feed` on uvicorn; not part of the web server).

Lifespan starts the hub, the bus receiver and the upstream links; every WebSocket connection, whatever its
path (OpenAlgo's clients connect to ws://host:8765), is a FeedConsumer. Plain HTTP gets 426 and a note.
"""
from __future__ import annotations

import os

import django
from channels.db import database_sync_to_async
from django.db import connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from feed import bus  # noqa: E402 - needs the apps loaded
from feed.consumers import FeedConsumer  # noqa: E402
from feed.hub import Hub  # noqa: E402
from feed.upstream import Upstreams  # noqa: E402


class FeedApplication:
    def __init__(self) -> None:
        self.hub: Hub | None = None
        self.receiver = None
        self.consumer = FeedConsumer.as_asgi()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
        elif scope["type"] == "websocket":
            await self.consumer({**scope, "feed_hub": self.hub}, receive, send)
        else:
            body = b'{"status": "error", "message": "This is AlgoDesk\'s WebSocket feed: connect with ws://"}'
            await send({"type": "http.response.start", "status": 426,
                        "headers": [(b"content-type", b"application/json"), (b"upgrade", b"websocket")]})
            await send({"type": "http.response.body", "body": body})

    async def lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.start()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def start(self) -> None:
        self.hub = Hub()
        self.hub.upstreams = Upstreams(self.hub)
        self.receiver = bus.receiver(self.hub.handle)
        await self.receiver.start()

    async def stop(self) -> None:
        if self.receiver is not None:
            await self.receiver.stop()
        if self.hub is not None:
            await self.hub.close()
        await database_sync_to_async(connections.close_all)()  # the ORM's thread keeps its connections open


application = FeedApplication()
