"""IP bans: thresholds, expiry, the repeat-offender rule, addresses never banned, lifting, and the cached
look-up's invalidation across cache clients and processes."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.cache import caches
from django.utils import timezone
from rest_framework.test import APIClient

from analytics import bans
from analytics.models import AllowedIp, BanSource, InvalidKeyTracker, IpBan, NotFoundTracker
from tests.analytics.conftest import ALL, STRANGER, flush

pytestmark = pytest.mark.django_db(databases=ALL)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.IP_BAN_NOT_FOUND_LIMIT = 5
    settings.IP_BAN_INVALID_KEY_LIMIT = 3


def not_found(client, n: int, ip: str = STRANGER) -> list[int]:
    return [client.get(f"/no-such-page-{i}/", REMOTE_ADDR=ip).status_code for i in range(n)]


def test_not_found_answers_past_the_limit_ban_the_address(client):
    assert not_found(client, 4) == [404] * 4
    flush()
    assert NotFoundTracker.objects.get(ip=STRANGER).count == 4
    assert not IpBan.objects.exists()
    not_found(client, 1)
    flush()
    ban = IpBan.objects.get(ip=STRANGER)
    assert (ban.created_by, ban.ban_count, ban.is_permanent) == (BanSource.SYSTEM, 1, False)
    assert "5 not-found answers today" in ban.reason
    assert timedelta(hours=23.9) < ban.expires_at - timezone.now() <= timedelta(hours=24)
    # 403 before any other work: no session, no view, and no query once the ban list is cached
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    assert client.get("/accounts/login/", REMOTE_ADDR=STRANGER).status_code == 403  # reloads the list
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/accounts/login/", REMOTE_ADDR=STRANGER)
    assert response.status_code == 403
    assert b"banned" in response.content
    assert len(queries) == 0
    assert client.get("/accounts/login/", REMOTE_ADDR="198.51.100.2").status_code == 200  # others are not


def test_what_browsers_ask_for_on_their_own_never_counts(client):
    for path in ("/favicon.ico", "/static/missing.css", "/apple-touch-icon-120x120.png", "/robots.txt"):
        client.get(path, REMOTE_ADDR=STRANGER)
    flush()
    assert not NotFoundTracker.objects.exists()


def test_the_apis_answer_a_banned_address_in_their_own_shape(client):
    bans.ban(STRANGER, "test")
    v1 = client.post("/api/v1/funds", {}, content_type="application/json", REMOTE_ADDR=STRANGER)
    assert v1.status_code == 403
    assert v1.json()["status"] == "error"
    assert client.get("/api/orders/", REMOTE_ADDR=STRANGER).json()["detail"].startswith("This address is banned")


def test_invalid_api_keys_past_the_limit_ban_the_address(db):
    api = APIClient()
    for _ in range(3):
        assert api.post("/api/v1/funds", {"apikey": "abc.def"}, format="json", REMOTE_ADDR=STRANGER).status_code == 403
    api.get("/api/orders/", HTTP_X_API_KEY="nope.nope", REMOTE_ADDR="198.51.100.3")
    flush()
    assert InvalidKeyTracker.objects.get(ip=STRANGER).count == 3
    assert InvalidKeyTracker.objects.get(ip="198.51.100.3").count == 1
    assert bans.is_banned(STRANGER)
    assert not bans.is_banned("198.51.100.3")
    assert "3 requests with an invalid API key" in IpBan.objects.get(ip=STRANGER).reason


def test_a_ban_expires(client, settings):
    ban = bans.ban(STRANGER, "test")
    assert client.get("/accounts/login/", REMOTE_ADDR=STRANGER).status_code == 403
    IpBan.objects.filter(pk=ban.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    bans.invalidate()
    assert client.get("/accounts/login/", REMOTE_ADDR=STRANGER).status_code == 200


def test_the_third_ban_is_permanent_and_the_setting_moves_it(settings):
    first = bans.ban(STRANGER, "one")
    assert bans.ban(STRANGER, "while active").ban_count == 1  # an active ban is left as it is
    for number in (2, 3):
        IpBan.objects.filter(pk=first.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        again = bans.ban(STRANGER, f"ban {number}")
        assert again.ban_count == number
    assert again.is_permanent
    assert again.expires_at is None
    settings.IP_BAN_PERMANENT_AFTER = 0  # never permanent
    other = bans.ban("198.51.100.4", "x")
    for _ in range(4):
        IpBan.objects.filter(pk=other.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        other = bans.ban("198.51.100.4", "x")
    assert other.ban_count == 5
    assert not other.is_permanent


@pytest.mark.parametrize("ip", ["127.0.0.1", "::1", "127.8.9.10"])
def test_loopback_is_never_banned(client, ip):
    not_found(client, 6, ip)
    flush()
    assert NotFoundTracker.objects.get(ip=ip).count == 6  # counted, never banned
    assert bans.ban(ip, "test") is None
    assert not IpBan.objects.exists()
    assert client.get("/accounts/login/", REMOTE_ADDR=ip).status_code == 200


def test_the_allow_list_setting_and_the_admin_list_are_never_banned(client, settings):
    settings.IP_BAN_ALLOWLIST = ["192.0.2.0/24"]
    AllowedIp.objects.create(network="198.51.100.7")
    for ip in ("192.0.2.77", "198.51.100.7"):
        not_found(client, 6, ip)
    flush()
    assert not IpBan.objects.exists()
    # an address banned before it was allowed is let in at once
    IpBan.objects.create(ip="198.51.100.8", reason="old", expires_at=timezone.now() + timedelta(hours=1))
    assert client.get("/accounts/login/", REMOTE_ADDR="198.51.100.8").status_code == 403
    AllowedIp.objects.create(network="198.51.100.0/29")
    assert client.get("/accounts/login/", REMOTE_ADDR="198.51.100.8").status_code == 403  # /29 stops at .7
    AllowedIp.objects.create(network="198.51.100.8/32")
    assert client.get("/accounts/login/", REMOTE_ADDR="198.51.100.8").status_code == 200


def test_a_lift_ends_the_ban_at_once_keeps_the_count_and_resets_todays_trackers(client):
    not_found(client, 5)
    flush()
    assert client.get("/accounts/login/", REMOTE_ADDR=STRANGER).status_code == 403
    assert bans.lift([STRANGER], by="op") == 1
    assert client.get("/accounts/login/", REMOTE_ADDR=STRANGER).status_code == 200
    ban = IpBan.objects.get(ip=STRANGER)
    assert (ban.is_active, ban.ban_count, ban.lifted_by) == (False, 1, "op")
    assert NotFoundTracker.objects.get(ip=STRANGER).count == 0
    not_found(client, 5)
    flush()
    assert IpBan.objects.get(ip=STRANGER).ban_count == 2  # the next ban counts as a repeat


def test_the_bans_are_cached_no_query_per_request(client, django_assert_num_queries):
    bans.ban(STRANGER, "test")
    bans.is_banned("198.51.100.1")  # loads the cached entry
    with django_assert_num_queries(0):
        assert bans.is_banned(STRANGER)
        assert not bans.is_banned("198.51.100.1")


def test_a_lift_reaches_a_second_cache_client_at_once():
    """Two clients of the shared cache (as two processes have): one warmed with the ban, the other lifts."""
    other = caches.create_connection("default")
    bans.ban(STRANGER, "test")
    assert _is_banned_with(other, STRANGER)
    assert _is_banned_with(other, STRANGER)  # now from its cached entry
    bans.lift([STRANGER])
    assert not _is_banned_with(other, STRANGER)
    bans.ban("198.51.100.9", "new")
    assert _is_banned_with(other, "198.51.100.9")


def _is_banned_with(cache_client, ip: str) -> bool:
    original = bans.cache
    bans.cache = cache_client
    try:
        return bans.is_banned(ip)
    finally:
        bans.cache = original


def test_a_stale_entry_stored_after_a_change_is_not_used():
    """A process reads the database, another bans and sets a new generation, then the first stores
    what it read: its entry carries the old generation, so the next look-up reloads."""
    old = bans.state()
    bans.ban(STRANGER, "test")
    from django.core.cache import cache

    cache.set(bans.STATE_KEY, old)  # the slow process's late write
    assert bans.is_banned(STRANGER)


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(databases=ALL, transaction=True)
def test_a_lift_reaches_another_process_at_once(settings):
    """Another Python process (as another gunicorn worker) answers from its own cache client and database
    connection; it sees a ban, keeps it cached, and sees the operator's lift on its next look-up."""
    from django.db import connection

    db = connection.settings_dict
    script = textwrap.dedent("""
        import sys, django
        django.setup()
        from analytics import bans
        for line in sys.stdin:
            print("banned" if bans.is_banned(line.strip()) else "free", flush=True)
    """)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "ALGODESK_VAR_DIR": settings.VAR_DIR.as_posix(),
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
           "REDIS_URL": settings.REDIS_URL, "CACHE_KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"]}
    env.pop("LOGS_DATABASE_URL", None)
    child = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=env, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        def ask(ip: str) -> str:
            child.stdin.write(ip + "\n")
            child.stdin.flush()
            return child.stdout.readline().strip()

        assert ask(STRANGER) == "free"
        bans.ban(STRANGER, "test")
        assert ask(STRANGER) == "banned"
        assert ask(STRANGER) == "banned"
        bans.lift([STRANGER])
        assert ask(STRANGER) == "free"
    finally:
        child.stdin.close()
        child.wait(10)
