"""Traffic, API and system logs: what a row holds, that writing waits for the buffer, and where rows go."""
from __future__ import annotations

import logging
import os
import threading
import time

import pytest
from django.db import OperationalError, connections, router
from rest_framework.test import APIClient

from analytics import buffer
from analytics.models import ApiLog, IpBan, SystemLog, TrafficLog
from analytics.routers import logs_db
from tests.analytics.conftest import ALL, STRANGER, flush
from tests.api.conftest import persona
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(databases=ALL)

ORDER = {"strategy": "logs", "exchange": "NSE", "symbol": "SBIN", "action": "BUY", "quantity": "1",
         "pricetype": "MARKET", "product": "MIS"}


@pytest.fixture
def owner(market):
    return persona(UserFactory())


def test_a_request_is_buffered_not_written_on_its_path(owner):
    assert owner.v1("placeorder", ORDER, REMOTE_ADDR=STRANGER).status_code == 200
    assert TrafficLog.objects.count() == 0
    assert ApiLog.objects.count() == 0
    assert buffer.pending() == 2  # one traffic and one API record
    assert flush() == 2
    assert TrafficLog.objects.count() == 1
    assert ApiLog.objects.count() == 1


def test_the_traffic_log_holds_who_what_how_it_ended_and_how_long(owner):
    owner.v1("placeorder", ORDER, REMOTE_ADDR=STRANGER, HTTP_HOST="127.0.0.1")
    flush()
    row = TrafficLog.objects.get()
    assert (row.client_ip, row.method, row.path, row.status) == (STRANGER, "POST", "/api/v1/placeorder", 200)
    assert (row.user_id, row.username, row.host) == (owner.user.pk, owner.user.username, "127.0.0.1")
    assert 0 < row.duration_ms < 10_000
    assert row.request_size > 50
    assert row.response_size > 10
    assert row.error == ""


def test_the_api_log_holds_the_key_prefix_the_broker_and_redacted_bodies(owner):
    answer = owner.v1("placeorder", ORDER, REMOTE_ADDR=STRANGER).json()
    flush()
    row = ApiLog.objects.get()
    assert (row.user_id, row.endpoint, row.status, row.method) == (owner.user.pk, "/api/v1/placeorder", 200, "POST")
    assert row.key_prefix == owner.key.split(".")[0]
    assert row.broker == "sandbox"
    assert '"apikey":"[redacted]"' in row.request_body
    assert '"symbol":"SBIN"' in row.request_body
    assert answer["orderid"] in row.response_body
    assert owner.key not in row.request_body + row.response_body


def test_the_api_log_keeps_no_prefix_of_a_key_that_failed(owner):
    bad = owner.key.split(".")[0] + ".wrong-secret-wrong-secret-wrong"
    assert APIClient().post("/api/v1/funds", {"apikey": bad}, format="json").status_code == 403
    flush()
    row = ApiLog.objects.get()
    assert (row.key_prefix, row.user_id, row.status) == ("", None, 403)


def test_a_resource_api_get_is_logged_with_its_query_redacted(owner):
    owner.client.get("/api/orders/", {"status": "open", "token": "tok-123456789"}, HTTP_X_API_KEY=owner.key)
    flush()
    row = ApiLog.objects.get()
    assert row.query == "status=open&token=[redacted]"
    assert row.key_prefix == owner.key.split(".")[0]


def test_bodies_are_bounded(owner, settings):
    settings.API_LOG_BODY_LIMIT = 40
    owner.v1("placeorder", {**ORDER, "strategy": "x" * 90})
    flush()
    row = ApiLog.objects.get()
    assert len(row.request_body) < 80
    assert "more characters]" in row.request_body


def test_pages_are_in_the_traffic_log_only(client):
    client.get("/accounts/login/", REMOTE_ADDR=STRANGER)
    flush()
    assert TrafficLog.objects.get().path == "/accounts/login/"
    assert not ApiLog.objects.exists()


def test_a_views_exception_is_the_rows_error(owner, monkeypatch):
    from trading.openalgo_api.orders import PlaceOrder

    def boom(self, request, data):
        raise RuntimeError("the sandbox fell over")

    monkeypatch.setattr(PlaceOrder, "handle", boom)
    owner.client.raise_request_exception = False
    owner.v1("placeorder", ORDER)
    flush()
    row = TrafficLog.objects.get()
    assert row.status == 500
    # DRF answers a view's exception itself (no middleware sees it): the row keeps what the answer said
    assert row.error.startswith("HTTP 500: ")
    assert "Internal error" in row.error
    assert SystemLog.objects.filter(level="ERROR", component="trading.openalgo_api.base").exists()  # the traceback


def test_logging_can_be_turned_off(owner, settings):
    settings.TRAFFIC_LOG_ENABLED = settings.API_LOG_ENABLED = False
    owner.v1("placeorder", ORDER)
    assert buffer.pending() == 0


def test_warnings_land_in_the_system_log_with_their_data():
    logging.getLogger("trading.tests").warning("broker %s slow", "openalgo", extra={"account": 7})
    logging.getLogger("trading.tests").info("not kept")
    logging.getLogger("django.request").warning("Not Found: /x")  # the traffic log has it
    try:
        raise ValueError("bad quote")
    except ValueError:
        logging.getLogger("sandbox.tests").exception("price feed failed")
    flush()
    warning, error = SystemLog.objects.order_by("id")
    assert (warning.level, warning.component, warning.message) == ("WARNING", "trading.tests", "broker openalgo slow")
    assert warning.data == {"account": 7}
    assert error.level == "ERROR"
    assert "ValueError: bad quote" in error.data["traceback"]


# --- client addresses ------------------------------------------------------------------------------------
def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(client, settings):
    client.get("/accounts/login/", REMOTE_ADDR=STRANGER, HTTP_X_FORWARDED_FOR="198.51.100.1")
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    client.get("/accounts/login/", REMOTE_ADDR="10.0.0.2",
               HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.9, 10.0.0.3")  # a client-sent fake, the client, a hop
    client.get("/accounts/login/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="not-an-ip")
    flush()
    assert list(TrafficLog.objects.order_by("id").values_list("client_ip", flat=True)) == [
        STRANGER, "198.51.100.9", "10.0.0.2"]


# --- the buffer ----------------------------------------------------------------------------------------
def test_a_full_buffer_drops_and_counts(settings):
    settings.LOG_BUFFER_MAX = 3
    before = buffer.buffer.dropped
    for n in range(5):
        buffer.add(("system", {"level": "WARNING", "component": "t", "message": str(n), "data": {}}))
    assert buffer.pending() == 3
    assert buffer.buffer.dropped == before + 2


def test_a_forked_child_starts_with_an_empty_buffer_and_its_own_thread(monkeypatch, settings):
    buffer.add(("system", {"level": "WARNING", "component": "t", "message": "parent's", "data": {}}))
    started = []
    monkeypatch.setattr(threading.Thread, "start", lambda self: started.append(self.name))
    settings.LOG_FLUSH_SECONDS = 1.0
    monkeypatch.setattr(os, "getpid", lambda: -42)  # what the child sees after fork()
    buffer.add(("system", {"level": "WARNING", "component": "t", "message": "child's", "data": {}}))
    assert [r[1]["message"] for r in buffer.snapshot()] == ["child's"]
    assert started == ["analytics-log-flush"]


def test_a_failed_write_drops_the_batch_and_never_raises(monkeypatch):
    buffer.add(("system", {"level": "WARNING", "component": "t", "message": "m", "data": {}}))
    monkeypatch.setattr(buffer.buffer, "_writer", lambda records: 1 / 0)
    before = buffer.buffer.dropped
    assert buffer.flush() == 1
    assert buffer.buffer.dropped == before + 1


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_the_background_thread_writes_on_its_own(settings):
    """What gunicorn workers do: the thread wakes, takes the records and writes them itself."""
    settings.LOG_FLUSH_SECONDS = 0.05
    own = buffer.LogBuffer(buffer._write)
    own.add(("traffic", {"timestamp": _now(), "ip": STRANGER, "method": "GET", "path": "/t", "status": 200,
                         "duration_ms": 1.0, "host": "", "user_id": None, "username": "", "request_size": None,
                         "response_size": 2, "error": ""}))
    try:
        deadline = time.monotonic() + 10
        while not _written("/t") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _written("/t")
        assert own.pending == 0
    finally:
        thread = own._thread
        own.stop()
        thread.join(5)
    assert not thread.is_alive()


def _written(path: str) -> bool:
    """Whether the thread's row is there. The tests' in-memory SQLite shares one cache between threads,
    where a read that meets the writer's table lock fails at once (SQLITE_LOCKED ignores the busy
    timeout that the file databases of a real deployment use): such a read counts as not yet."""
    try:
        return TrafficLog.objects.filter(path=path).exists()
    except OperationalError as exc:
        if "locked" not in str(exc):
            raise
        return False


def _now():
    from django.utils import timezone

    return timezone.now()


# --- where the rows live -------------------------------------------------------------------------------
def test_logs_are_routed_to_the_logs_database_and_bans_stay_with_the_users(settings):
    expected = "logs" if "logs" in settings.DATABASES else "default"
    assert logs_db() == expected
    for model in (TrafficLog, ApiLog, SystemLog):
        assert router.db_for_write(model) == expected
        assert router.allow_migrate_model(expected, model)
    assert router.db_for_write(IpBan) == "default"
    if expected == "logs":
        assert not router.allow_migrate_model("logs", IpBan)
        assert not router.allow_migrate("logs", "trading", model_name="order")
        assert not router.allow_migrate_model("default", TrafficLog)
        # migrated in the test database: the table exists there and only the logs are there
        tables = connections["logs"].introspection.table_names()
        assert "analytics_trafficlog" in tables
        assert "trading_order" not in tables


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_manage_py_migrate_migrates_the_logs_database_too(capsys):
    """From the command line without --database: both databases (call_command and --database: one)."""
    from analytics.management.commands.migrate import Command

    Command().run_from_argv(["manage.py", "migrate", "--plan"])
    both = capsys.readouterr().out
    Command().run_from_argv(["manage.py", "migrate", "--plan", "--database", "default"])
    one = capsys.readouterr().out
    header = f"The logs database ({logs_db()}):"
    assert (header in both) == (logs_db() != "default")
    assert header not in one
