"""The login routes are rate limited per client IP in the shared cache (LOGIN_RATE_LIMIT)."""
import pytest
from django.test import Client

from accounts import ratelimit
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def post_login(client: Client, username: str, password: str, ip: str):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_it_answers_429_with_retry_after_once_an_ip_exceeds_the_limit(settings, rate_window):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login": "3/minute"}
    user = UserFactory()
    client = Client()
    for _ in range(3):
        assert post_login(client, user.username, "wrong-password", "10.0.0.7").status_code == 200
    blocked = post_login(client, user.username, PASSWORD, "10.0.0.7")
    assert blocked.status_code == 429
    assert 1 <= int(blocked["Retry-After"]) <= 60
    assert b"Too many sign-in attempts" in blocked.content
    # Another address is not affected, and signs in.
    assert post_login(Client(), user.username, PASSWORD, "10.0.0.8").status_code == 302


def test_the_admin_login_shares_the_limit(settings, rate_window):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login": "1/minute"}
    client = Client()
    assert post_login(client, "nobody", "x", "10.0.0.9").status_code == 200
    assert client.post("/admin/login/", {"username": "nobody", "password": "x"},
                       REMOTE_ADDR="10.0.0.9").status_code == 429


def test_compound_limits_parse_and_bad_ones_name_the_part():
    assert ratelimit.parse_rates("5/minute;25/hour") == [ratelimit.Rate(5, 60), ratelimit.Rate(25, 3600)]
    with pytest.raises(Exception, match="'ten/second'"):
        ratelimit.parse_rates("ten/second")


def test_invalid_api_keys_are_counted_per_ip(settings, rate_window):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "invalid_key": "2/minute"}
    client = Client()
    answers = [client.post("/api/v1/funds", {"apikey": f"abc123.guess{i}"}, content_type="application/json",
                           REMOTE_ADDR="10.0.1.1") for i in range(3)]
    assert [a.status_code for a in answers] == [403, 403, 429]
    assert answers[-1].json()["retry_after"] >= 1
    other = client.post("/api/v1/funds", {"apikey": "abc123.guess"}, content_type="application/json",
                        REMOTE_ADDR="10.0.1.2")
    assert other.status_code == 403
