"""uvicorn serving the feed: used by `manage.py feed`, the tests and bench/feed.py."""
from __future__ import annotations

import socket

import uvicorn
from django.conf import settings


def make_server(host: str | None = None, port: int | None = None, log_level: str = "info") -> uvicorn.Server:
    from feed.asgi import FeedApplication

    config = uvicorn.Config(
        FeedApplication(), host=host or settings.FEED_HOST, port=settings.FEED_PORT if port is None else port,
        ws="websockets-sansio",  # sans-I/O: a write waits while the socket's buffer is full (flow control)
        ws_max_size=1024 * 1024,  # a client's message: requests are small, 1 MiB is plenty
        ws_ping_interval=20.0, ws_ping_timeout=20.0,  # OpenAlgo's keepalive
        ws_per_message_deflate=False,  # compressing every tick costs more CPU than the bytes it saves
        lifespan="on", log_level=log_level, access_log=False, proxy_headers=False)
    return uvicorn.Server(config)


def bound_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening socket (port 0: any free port), for running a server on a port chosen by the OS."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock
