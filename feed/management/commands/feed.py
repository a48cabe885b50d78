"""Run the real-time feed: `manage.py feed [--host H] [--port P]` (FEED_HOST, FEED_PORT; 8765 by default)."""
from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Run the WebSocket feed speaking OpenAlgo's protocol (market data and order updates)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=None, help=f"Default: FEED_HOST ({settings.FEED_HOST}).")
        parser.add_argument("--port", type=int, default=None, help=f"Default: FEED_PORT ({settings.FEED_PORT}).")
        parser.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])

    def handle(self, *args, host: str | None, port: int | None, log_level: str, **options) -> None:
        from feed.server import make_server

        if port is not None and not 0 < port < 65536:
            raise CommandError(f"--port: {port} is not a port number (1-65535).")
        server = make_server(host, port, log_level)
        self.stdout.write(f"Feed on ws://{server.config.host}:{server.config.port}/ (Ctrl-C stops it).")
        server.run()
        if not server.started:
            raise CommandError(f"The feed could not start on {server.config.host}:{server.config.port} "
                               "(see the log above: the port in use, or another feed on FEED_SOCKET).")
