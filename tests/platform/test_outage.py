"""A database that accepts connections but never answers, or a cache that refuses them, gets every API a
503 JSON answer within seconds (it was ~130 s, psycopg's default connect timeout, per request).

The server is a real gunicorn whose DATABASE_URL points at a socket that listens and never answers
(the kernel completes the TCP handshake; nothing speaks PostgreSQL), and, in the second case, whose
REDIS_URL points at a closed port.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from django.db import OperationalError
from django.test import RequestFactory
from redis.exceptions import ConnectionError as RedisConnectionError

from core import outage
from core.outage import OutageMiddleware

pytestmark = pytest.mark.live

ROOT = Path(__file__).resolve().parents[2]
KEY = "abcdefgh.not-a-real-secret-but-well-formed"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A port that accepts TCP connections and never says a word."""
    server = socket.create_server(("127.0.0.1", 0), backlog=128)
    yield server.getsockname()[1]
    server.close()


@contextmanager
def serve(tmp_path: Path, **env: str) -> Iterator[str]:
    """gunicorn on a free port with the given environment; yields its URL."""
    port = free_port()
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.test_settings", "DB_CONNECT_TIMEOUT": "2",
                   "REDIS_TIMEOUT": "1", "ALGODESK_VAR_DIR": str(tmp_path), "ALGODESK_TEST_SCRATCH": "", **env}
    if "REDIS_URL" not in env:
        environment.pop("REDIS_URL", None)  # the file cache
    log = open(tmp_path / "gunicorn.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1",
         "--threads", "4", "--timeout", "60"],
        cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((tmp_path / "gunicorn.log").read_text()) from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


REQUESTS = [
    ("/api/v1/funds", {"apikey": KEY}, {}, "openalgo"),
    ("/api/v1/placeorder", {"apikey": KEY, "strategy": "s", "exchange": "NSE", "symbol": "SBIN", "action": "BUY",
                            "quantity": 1}, {}, "openalgo"),
    ("/api/orders/", {"symbol": "SBIN"}, {"X-API-KEY": KEY}, "drf"),
]


def assert_quick_503(url: str, service: str) -> None:
    """Each API answers 503 within seconds (DB_CONNECT_TIMEOUT is 2 here; psycopg's own default is 130 s),
    and once a connection has failed, at once while the service is held down."""
    with httpx.Client(base_url=url, timeout=30) as client:
        # Warm the worker (imports, URL resolvers) with a path that needs neither service: on a busy
        # machine a cold first request alone can take seconds.
        assert client.post("/api/v1/warm-up").status_code == 404
        for path, body, headers, shape in REQUESTS:
            started = time.monotonic()
            response = client.post(path, json=body, headers=headers)
            took = time.monotonic() - started
            assert response.status_code == 503, (path, response.text)
            text = f"The {service} is unavailable or not answering; try again shortly."
            expected = {"status": "error", "message": text} if shape == "openalgo" else {"detail": text}
            assert response.json() == expected
            assert response.headers["Retry-After"] == "5"
            assert took < 8, (path, took)
            if path != REQUESTS[0][0]:
                assert took < 1, (path, took)  # held down: no new attempt to connect


def test_a_database_that_never_answers_is_a_503_within_seconds(tmp_path, black_hole):
    with serve(tmp_path, DATABASE_URL=f"postgres://postgres@127.0.0.1:{black_hole}/algodesk") as url:
        assert_quick_503(url, "database")
    log = (tmp_path / "gunicorn.log").read_text()
    assert "Traceback" not in log
    assert "database unavailable answering /api/v1/funds: OperationalError" in log


def test_a_cache_that_refuses_connections_is_a_503_at_once(tmp_path, black_hole):
    with serve(tmp_path, DATABASE_URL=f"postgres://postgres@127.0.0.1:{black_hole}/algodesk",
               REDIS_URL=f"redis://127.0.0.1:{free_port()}/0") as url:
        assert_quick_503(url, "cache")
    assert "Traceback" not in (tmp_path / "gunicorn.log").read_text()


@pytest.fixture
def outage_state():
    """The middleware's per-process memory of a service held down, cleared for the next test."""
    yield outage._down_until
    outage._down_until.clear()


@pytest.mark.parametrize(("path", "body"), [
    ("/strategy/webhook/abc", {"status": "error", "message": "The database is unavailable or not answering; "
                                                            "try again shortly."}),
    ("/api/accounts/", {"detail": "The database is unavailable or not answering; try again shortly."}),
])
def test_the_middleware_answers_each_api_in_its_own_shape(outage_state, path, body):
    middleware = OutageMiddleware(lambda request: None)
    response = middleware.process_exception(RequestFactory().post(path), OperationalError("timeout expired"))
    assert response.status_code == 503
    assert json.loads(response.content) == body


def test_pages_and_other_errors_are_left_to_django(outage_state):
    middleware = OutageMiddleware(lambda request: None)
    assert middleware.process_exception(RequestFactory().get("/accounts/"), OperationalError()) is None
    assert middleware.process_exception(RequestFactory().get("/api/orders/"), ValueError()) is None


def test_a_silent_cache_is_a_503_within_its_timeout(tmp_path, black_hole):
    with serve(tmp_path, DATABASE_URL=f"postgres://postgres@127.0.0.1:{black_hole}/algodesk",
               REDIS_URL=f"redis://127.0.0.1:{black_hole}/0") as url:
        assert_quick_503(url, "cache")


@pytest.mark.postgres
@pytest.mark.django_db
def test_statements_are_cancelled_past_the_statement_timeout_as_an_outage():
    from django.db import connection, transaction

    from core.outage import unavailable

    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "30s"  # DB_STATEMENT_TIMEOUT's default
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = 50")
        try:
            cursor.execute("SELECT pg_sleep(2)")
        except OperationalError as exc:
            cancelled = exc
        transaction.set_rollback(True)
    assert unavailable(cancelled) == "database"


def test_a_service_held_down_answers_at_once_until_the_hold_ends(outage_state, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(outage.time, "monotonic", lambda: now[0])
    reached = []
    middleware = OutageMiddleware(lambda request: reached.append(request.path) or "the view's answer")
    outage.answer("/api/v1/funds", "cache", RedisConnectionError("Connection refused"))
    assert middleware(RequestFactory().post("/api/v1/funds")).status_code == 503
    assert middleware(RequestFactory().get("/api/orders/")).status_code == 503
    assert middleware(RequestFactory().get("/accounts/")) == "the view's answer"  # pages are not held
    now[0] += outage.OUTAGE_HOLD_SECONDS + 0.1
    assert middleware(RequestFactory().post("/api/v1/funds")) == "the view's answer"
    assert reached == ["/accounts/", "/api/v1/funds"]


@pytest.mark.django_db
def test_a_failed_statement_on_a_live_connection_holds_nothing(outage_state):
    from django.db import connection

    connection.ensure_connection()
    response = outage.answer("/api/v1/funds", "database", OperationalError("canceling statement due to timeout"))
    assert response.status_code == 503
    assert outage.held_down() is None
