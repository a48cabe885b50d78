"""What the webhook answers to bad input, signatures, repeated deliveries and floods; and what it keeps."""
from __future__ import annotations

import json
import uuid

import pytest

from strategies.models import Signal, SignalStatus
from strategies.services.signals import SIGNATURE_HEADER
from tests.strategies.conftest import sign
from trading.models import Order

pytestmark = pytest.mark.django_db
SECRET = "a-webhook-secret-of-some-length"


def test_an_accepted_signal_says_so_and_places_the_order(hook):
    response = hook.post({"symbol": "sbin", "action": "buy"})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "success"
    assert body["signal_id"] == hook.last_signal().pk
    signal = hook.last_signal()
    assert (signal.status, signal.orders_placed, signal.deployments, signal.source_ip) == ("accepted", 1, 1,
                                                                                           "127.0.0.1")
    assert signal.processed_at is not None
    assert Order.objects.get().quantity == 10


@pytest.mark.parametrize(("raw", "message"), [
    (b"{not json", "body: malformed JSON"),
    (b"", "body: empty"),
    (b"[1, 2]", "body: must be a JSON object"),
    (json.dumps({"action": "BUY"}).encode(), "symbol: this field is required"),
    (json.dumps({"symbol": "SBIN", "action": "HOLD"}).encode(), "action: must be one of BUY, SELL"),
    (json.dumps({"symbol": "SBIN"}).encode(), "action: this field is required"),
    (json.dumps({"symbol": "INFY", "action": "BUY"}).encode(), "symbol: 'INFY' is not mapped"),
    (json.dumps({"symbol": "SBIN", "action": "BUY", "exchange": "BSE"}).encode(), "symbol: 'SBIN' on BSE is not"),
    (json.dumps({"symbol": "SBIN", "action": "BUY", "quantity": "-4"}).encode(), "quantity: must not be negative"),
    (json.dumps({"symbol": ["SBIN"], "action": "BUY"}).encode(), "symbol: must be a string"),
    (b"\xff\xfe", "body: malformed JSON"),
    (b"[" * 5000, "body: malformed JSON"),
    (b"\x00\x01", "body: malformed JSON"),
    (json.dumps({"symbol": "SB\u0000IN", "action": "BUY"}).encode(), "symbol: must not contain control characters"),
    (b'{"symbol": "\\ud800", "action": "BUY"}', "symbol: is not valid Unicode"),
    (b'{"symbol": "SBIN", "action": "BUY", "quantity": 1e999}', "quantity: is not a finite number"),
    (b'{"symbol": "SBIN", "action": "BUY", "x": ' + b"[" * 40 + b"]" * 40 + b"}", "x[0][0]"),
])
def test_bad_input_is_a_400_naming_the_field_recorded_and_places_nothing(hook, raw, message):
    response = hook.post(raw=raw)
    assert response.status_code == 400
    assert response.json()["status"] == "error"
    assert response.json()["message"].startswith(message), response.json()
    signal = hook.last_signal()
    assert (signal.status, signal.reason) == (SignalStatus.REFUSED, response.json()["message"])
    assert response.json()["signal_id"] == signal.pk
    assert not Order.objects.exists()


def test_an_unknown_or_inactive_webhook_is_a_404_that_records_nothing(hook):
    for webhook_id in (uuid.uuid4(), "not-a-uuid"):
        response = hook.post({"symbol": "SBIN", "action": "BUY"}, webhook_id=webhook_id)
        assert response.status_code == 404
        assert response.json() == {"status": "error", "message": "Unknown or inactive webhook."}
    hook.strategy.is_active = False
    hook.strategy.save()
    assert hook.post({"symbol": "SBIN", "action": "BUY"}).status_code == 404
    assert not Signal.objects.exists()
    assert not Order.objects.exists()


def test_only_post_is_answered(hook):
    assert hook.client.get(f"/strategy/webhook/{hook.strategy.webhook_id}").status_code == 405


def _secret(hook) -> None:
    hook.strategy.webhook_secret = SECRET
    hook.strategy.save()


def test_a_secret_webhook_needs_the_bodys_signature_or_the_token(hook, settings):
    settings.STRATEGY_DUPLICATE_WINDOW = 0
    _secret(hook)
    body = json.dumps({"symbol": "SBIN", "action": "BUY"}).encode()
    unsigned = hook.post(raw=body)
    assert unsigned.status_code == 403
    assert unsigned.json()["message"].startswith("signature:")
    forged = hook.post(raw=body, **{SIGNATURE_HEADER: sign("another-secret-entirely", body)})
    assert forged.status_code == 403
    assert "not the HMAC-SHA256" in forged.json()["message"]
    assert hook.post(raw=body + b" ", **{SIGNATURE_HEADER: sign(SECRET, body)}).status_code == 403  # body changed
    assert hook.post({"symbol": "SBIN", "action": "BUY", "token": "wrong"}).status_code == 403
    assert not Order.objects.exists()
    assert set(Signal.objects.values_list("status", flat=True)) == {SignalStatus.REFUSED}

    assert hook.post(raw=body, **{SIGNATURE_HEADER: sign(SECRET, body)}).status_code == 200
    assert hook.post(raw=body, **{SIGNATURE_HEADER: "sha256=" + sign(SECRET, body)}).status_code == 200
    assert hook.post({"symbol": "SBIN", "action": "BUY", "token": SECRET}).status_code == 200
    assert Order.objects.count() == 3


def test_the_token_and_other_secrets_never_reach_the_stored_payload(hook):
    _secret(hook)
    hook.post({"symbol": "SBIN", "action": "BUY", "token": SECRET, "apikey": "abcdef0123.secretsecretsecretsecret"})
    stored = json.dumps(hook.last_signal().payload)
    assert SECRET not in stored
    assert "secretsecret" not in stored
    assert hook.last_signal().payload["symbol"] == "SBIN"


def test_the_same_body_within_the_window_is_a_duplicate_and_places_nothing(hook):
    first = hook.post({"symbol": "SBIN", "action": "BUY"})
    again = hook.post({"symbol": "SBIN", "action": "BUY"})
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert again.json()["duplicate_of"] == first.json()["signal_id"]
    assert Order.objects.count() == 1
    duplicate = Signal.objects.get(pk=again.json()["signal_id"])
    assert (duplicate.status, duplicate.duplicate_of_id) == (SignalStatus.DUPLICATE, first.json()["signal_id"])
    assert hook.post({"symbol": "SBIN", "action": "BUY", "quantity": 2}).json().get("duplicate") is None


def test_an_idempotency_key_is_accepted_once_whatever_the_body(hook, settings):
    settings.STRATEGY_DUPLICATE_WINDOW = 0
    first = hook.post({"symbol": "SBIN", "action": "BUY", "idempotency_key": "alert-42"})
    assert hook.post({"symbol": "SBIN", "action": "BUY", "quantity": 5, "idempotency_key": "alert-42"}).json()[
        "duplicate_of"] == first.json()["signal_id"]
    header = {"Idempotency-Key": "alert-43"}
    assert hook.post({"symbol": "SBIN", "action": "BUY"}, **header).json().get("duplicate") is None
    assert hook.post({"symbol": "SBIN", "action": "BUY", "quantity": 7}, **header).json()["duplicate"] is True
    assert Order.objects.count() == 2


def test_a_flood_at_one_webhook_is_rate_limited_per_webhook(hook, hook_for, settings, rate_window):
    settings.RATE_LIMITS_ENABLED = True
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "webhook": "2/minute"}
    settings.STRATEGY_DUPLICATE_WINDOW = 0
    for _ in range(2):
        assert hook.post({"symbol": "SBIN", "action": "SELL"}).status_code == 200
    limited = hook.post({"symbol": "SBIN", "action": "SELL"})
    assert limited.status_code == 429
    assert int(limited["Retry-After"]) > 0
    assert limited.json()["status"] == "error"
    other = hook_for(type(hook.strategy).objects.create(user=hook.strategy.user, name="other"))
    assert other.post({"symbol": "SBIN", "action": "BUY"}).status_code == 400  # its own budget (unmapped: 400)
    assert Signal.objects.filter(strategy=hook.strategy).count() == 2


def test_a_corrected_resend_of_an_unsigned_delivery_is_not_a_duplicate(hook):
    _secret(hook)
    body = json.dumps({"symbol": "SBIN", "action": "BUY"}).encode()
    assert hook.post(raw=body).status_code == 403
    assert hook.post(raw=body, **{SIGNATURE_HEADER: sign(SECRET, body)}).status_code == 200
    assert Order.objects.count() == 1


def test_a_used_key_is_a_duplicate_even_when_the_repeat_would_be_refused(hook, clock, settings):
    settings.STRATEGY_DUPLICATE_WINDOW = 0
    first = hook.post({"symbol": "SBIN", "action": "BUY", "idempotency_key": "k-9"})
    clock["at"] = clock["at"].replace(hour=16)  # entries closed now
    again = hook.post({"symbol": "SBIN", "action": "BUY", "idempotency_key": "k-9"})
    assert again.status_code == 200
    assert again.json()["duplicate_of"] == first.json()["signal_id"]
    assert Order.objects.count() == 1
