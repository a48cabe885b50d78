"""No secret ever lands in a log row: keys, passwords, tokens, webhook secrets and TOTP codes are sent in
bodies, headers and query strings, then every text column of every analytics table is searched."""
from __future__ import annotations

import json
import logging

import pytest
from django.apps import apps
from django.db import models
from rest_framework.test import APIClient

from analytics.models import ApiLog, SystemLog, TrafficLog
from core import redaction
from tests.accounts.conftest import enroll, totp_code
from tests.analytics.conftest import ALL, STRANGER, flush
from tests.api.conftest import persona
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(databases=ALL)

ORDER = {"strategy": "r", "exchange": "NSE", "symbol": "SBIN", "action": "BUY", "quantity": "1",
         "pricetype": "MARKET", "product": "MIS"}
TOKEN = "tok3n-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
WEBHOOK_SECRET = "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f"
BEARER = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.sig-value-123"
NEW_PASSWORD = "Brand-new-pass-4321"


def text_of_every_log_row() -> str:
    """Every value of every row of every analytics table, as one string."""
    chunks = []
    for model in apps.get_app_config("analytics").get_models():
        fields = [f.name for f in model._meta.fields if isinstance(f, models.CharField | models.TextField |
                                                                  models.JSONField | models.GenericIPAddressField)]
        for row in model.objects.values_list(*fields):
            chunks.append(json.dumps(row, default=str))
    return "\n".join(chunks)


def test_no_secret_reaches_any_log_table(market, client):
    owner = persona(UserFactory())
    device = enroll(owner.user)
    code = totp_code(device)
    prefix = owner.key.split(".")[0]
    secrets = [owner.key, owner.key.split(".")[1], PASSWORD, NEW_PASSWORD, TOKEN, WEBHOOK_SECRET, BEARER, code]
    api = APIClient()

    # bodies: OpenAlgo's apikey, and secret-named fields a client might add
    api.post("/api/v1/placeorder", {**ORDER, "apikey": owner.key, "password": PASSWORD, "token": TOKEN,
                                    "otp_code": code, "nested": [{"secret": WEBHOOK_SECRET}]}, format="json")
    api.post("/api/v1/funds", {"apikey": owner.key + "x"}, format="json", REMOTE_ADDR=STRANGER)  # invalid key
    # headers: X-API-KEY, Authorization (Api-Key and Bearer), a cookie
    api.get("/api/orders/", HTTP_X_API_KEY=owner.key)
    api.get("/api/positions/", HTTP_AUTHORIZATION=f"Api-Key {owner.key}")
    api.get("/api/trades/", HTTP_AUTHORIZATION=f"Bearer {BEARER}", HTTP_COOKIE=f"sessionid={TOKEN}")
    # query strings
    api.get(f"/api/holdings/?apikey={owner.key}&token={TOKEN}&password={PASSWORD}")
    api.post(f"/api/v1/orderbook?apikey={owner.key}", {"apikey": owner.key}, format="json")
    # a webhook's secret in its path, a form body with a password and a TOTP code, a password change
    api.post(f"/strategy/webhook/{WEBHOOK_SECRET}", {"apikey": owner.key, "symbol": "SBIN"}, format="json")
    client.post("/accounts/login/", {"username": owner.user.username, "password": PASSWORD})
    client.post("/accounts/login/verify/", {"code": code})
    client.post("/accounts/password/", {"old_password": PASSWORD, "new_password1": NEW_PASSWORD,
                                        "new_password2": NEW_PASSWORD})
    # a body that is not JSON, and a multipart body
    api.post("/api/v1/quotes", data=f"apikey={owner.key}&password={PASSWORD}",
             content_type="application/x-www-form-urlencoded")
    api.post("/api/v1/quotes", data=f"not json {owner.key} Bearer {BEARER}", content_type="text/plain")
    api.post("/api/v1/quotes", {"apikey": owner.key, "password": PASSWORD}, format="multipart")
    # warnings that carry secrets in their message and extras
    logging.getLogger("trading.tests").warning("client sent apikey=%s token: %s", owner.key, TOKEN,
                                               extra={"password": PASSWORD, "detail": f"Bearer {BEARER}"})
    logging.getLogger("trading.tests").error("upstream said %s", json.dumps({"api_key": owner.key}))

    assert flush() > 20
    assert TrafficLog.objects.count() >= 14
    assert ApiLog.objects.count() >= 10
    assert SystemLog.objects.count() >= 2
    everything = text_of_every_log_row()
    for secret in secrets:
        assert secret not in everything, secret
    # and what is not secret is still there to read
    assert prefix in ApiLog.objects.values_list("key_prefix", flat=True)
    assert "SBIN" in everything
    assert "/accounts/login/" in everything
    assert "[redacted]" in everything


@pytest.mark.parametrize(("text", "secret"), [
    ("Authorization: Bearer abc.def-ghi_jklmnop", "abc.def-ghi_jklmnop"),
    ("key 0123456789ab.Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eHF1dXg used", "Zm9vYmFyYmF6cXV4"),
    ('{"password": "hunter2-hunter2"}', "hunter2"),
    ("otpauth://totp/AlgoDesk:bob?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=AlgoDesk", "JBSWY3DP"),
    ("webhook_secret=s3cr3t-value&x=1", "s3cr3t-value"),
])
def test_secret_shapes_are_scrubbed_from_any_text(text, secret):
    assert secret not in redaction.scrub_text(text)


def test_secret_names_are_redacted_at_any_depth_and_the_rest_is_kept():
    body = {"apikey": "k", "X-Api-Key": "k", "orders": [{"symbol": "SBIN", "otp_token": "123456"}],
            "webhook_secret": "w", "code": "654321", "quantity": 5, "price": 800.5, "empty_password": ""}
    assert redaction.redact(body) == {
        "apikey": "[redacted]", "X-Api-Key": "[redacted]", "orders": [{"symbol": "SBIN", "otp_token": "[redacted]"}],
        "webhook_secret": "[redacted]", "code": "[redacted]", "quantity": 5, "price": 800.5, "empty_password": ""}


def test_paths_lose_long_random_segments_only():
    assert redaction.redact_path(f"/strategy/webhook/{WEBHOOK_SECRET}") == "/strategy/webhook/[redacted]"
    assert redaction.redact_path("/api/orders/123/cancel/") == "/api/orders/123/cancel/"
    assert redaction.redact_path("/admin/analytics/trafficlog/") == "/admin/analytics/trafficlog/"
