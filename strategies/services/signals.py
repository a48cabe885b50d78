"""Receiving a delivery at a strategy's webhook: authenticate, parse, refuse or accept, record, enqueue.

receive() answers in milliseconds: it reads the strategy and its mapped symbols, writes one Signal row
and enqueues one Celery task (strategies.tasks.fan_out) when that row commits. Every delivery that
reaches an active webhook is stored as a Signal (accepted, refused with the reason, or duplicate); an
unknown or inactive webhook stores nothing.

Authentication, when the strategy has a webhook secret: the X-AlgoDesk-Signature header carries the hex
HMAC-SHA256 of the raw body under the secret (optionally prefixed "sha256="), or, for platforms that
cannot set headers (TradingView, ChartInk), the body carries the secret as `token`. The token is never
stored (the stored payload is redacted).

Duplicates: the same idempotency key (the Idempotency-Key header or an `idempotency_key` body field) is
accepted once per strategy, ever (a unique constraint); the same raw body within
STRATEGY_DUPLICATE_WINDOW seconds is a duplicate too (an atomic add in the shared cache). A duplicate is
stored, answered 200 with "duplicate": true, and places nothing.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from core import parsers
from core.redaction import bound, redact, scrub_text
from strategies.models import Signal, SignalChannel, SignalStatus, Strategy
from strategies.services import windows
from strategies.services.legs import Leg, parse_chartink, parse_webhook
from trading.services.errors import InvalidOrder
from trading.services.validation import text

SIGNATURE_HEADER = "X-AlgoDesk-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
TOKEN_FIELD = "token"
MAX_STORED_RAW = 2000  # characters of an unparseable body kept on its Signal
UNPRINTABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")  # PostgreSQL's JSON takes no NUL


@dataclass
class Answer:
    """What the webhook answers: HTTP status and OpenAlgo-style body; the signal recorded, if any."""

    status: int
    body: dict[str, Any]
    signal: Signal | None = None
    headers: dict[str, str] = field(default_factory=dict)


def error(status: int, message: str, signal: Signal | None = None) -> Answer:
    body: dict[str, Any] = {"status": "error", "message": message}
    if signal is not None:
        body["signal_id"] = signal.pk
    return Answer(status, body, signal)


def find_strategy(webhook_id: str) -> Strategy | None:
    """The active strategy with this webhook id (None for a malformed, unknown or inactive one)."""
    try:
        key = uuid.UUID(str(webhook_id))
    except ValueError:
        return None
    return Strategy.objects.filter(webhook_id=key, is_active=True).first()


def signature_of(secret: str, raw: bytes) -> str:
    """The X-AlgoDesk-Signature value of a body: hex HMAC-SHA256 under the webhook secret."""
    return hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def _authentic(secret: str, raw: bytes, signature: str | None, data: Any) -> str | None:
    """None when the delivery proves it knows the secret, else what is wrong."""
    if signature:
        given = signature.strip().removeprefix("sha256=").lower()
        if hmac.compare_digest(given.encode(), signature_of(secret, raw).encode()):
            return None
        return f"signature: the {SIGNATURE_HEADER} header is not the HMAC-SHA256 of the body under the webhook secret."
    token = data.get(TOKEN_FIELD) if isinstance(data, dict) else None
    if not isinstance(token, str) or not token:
        return (f"signature: this webhook needs the {SIGNATURE_HEADER} header (HMAC-SHA256 of the body) or the "
                f"secret as `{TOKEN_FIELD}` in the body.")
    if hmac.compare_digest(token.encode(), secret.encode()):
        return None
    return f"{TOKEN_FIELD}: does not match the webhook secret."


def _stored_payload(data: Any, raw: bytes) -> Any:
    if data is None:  # not JSON (or not safe JSON): a bounded, scrubbed, printable copy of the text
        text = UNPRINTABLE.sub("\ufffd", raw.decode("utf-8", errors="replace"))
        return {"raw": bound(scrub_text(text), MAX_STORED_RAW)}
    if isinstance(data, dict):
        data = {k: v for k, v in data.items() if k != TOKEN_FIELD}
    return redact(data)


def _idempotency_key(header: str | None, data: Any) -> str | None:
    if header:
        return header.strip()[:128] or None
    if isinstance(data, dict) and data.get("idempotency_key") not in (None, ""):
        return text(data, "idempotency_key", max_length=128)
    return None


def receive(strategy: Strategy, channel: str, raw: bytes, *, ip: str | None = None, signature: str | None = None,
            idempotency_header: str | None = None) -> Answer:
    """Handle one delivery to `strategy`'s webhook (found active by find_strategy)."""
    now = timezone.now()
    try:
        data = json.loads(raw.decode("utf-8")) if raw.strip() else None
        malformed = None if data is not None else "body: empty; send a JSON object."
        parsers.check(data)  # NUL, lone surrogates, inf, deep nesting: no database or hash takes them
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        data, malformed = None, f"body: malformed JSON ({str(exc)[:80]})."
    except parsers.UnsafeInput as exc:
        data, malformed = None, exc.message
    record = Signal(strategy=strategy, channel=channel, received_at=now, source_ip=ip,
                    payload=_stored_payload(data, raw), body_hash=hashlib.sha256(raw).hexdigest())
    if strategy.webhook_secret:
        problem = _authentic(strategy.webhook_secret, raw, signature, data)
        if problem is not None:
            return _refuse(record, 403, problem)
    if malformed:
        return _refuse(record, 400, malformed)
    try:
        record.idempotency_key = _idempotency_key(idempotency_header, data)
        parse = parse_chartink if channel == SignalChannel.CHARTINK else parse_webhook
        legs = parse(strategy, data)
    except InvalidOrder as exc:
        return _refuse(record, 400, exc.message)
    record.legs = [leg.as_json() for leg in legs]
    first = _first_delivery(record)
    if first is not None:
        return _duplicate(record, first)
    reason = windows.refusal(strategy, entry=any(leg.is_entry for leg in legs), at=now)
    if reason is not None:
        return _refuse(record, 400, reason, claimed=True)
    return _accept(record, legs)


def _insert(record: Signal) -> None:
    """Insert the signal: one statement in autocommit mode (no BEGIN/COMMIT round trips on the webhook's
    path); inside a caller's transaction, in a savepoint, so a unique-key clash leaves it usable."""
    if transaction.get_connection().in_atomic_block:
        with transaction.atomic():
            record.save()
    else:
        record.save()


def _first_with_key(record: Signal) -> Signal | None:
    return (Signal.objects.filter(strategy_id=record.strategy_id, idempotency_key=record.idempotency_key)
            .exclude(status=SignalStatus.DUPLICATE).only("pk").first())


def _refuse(record: Signal, status: int, reason: str, *, claimed: bool = False) -> Answer:
    """Record the refusal and answer it; a delivery whose idempotency key was used before is a repeat.
    `claimed`: the body's duplicate window was claimed (only a valid delivery claims it, so a corrected
    resend of a refused one, such as a first try without its signature, is never taken for a repeat)."""
    record.status, record.reason = SignalStatus.REFUSED, reason
    try:
        _insert(record)
    except IntegrityError:
        record.pk = None
        return _duplicate(record, _first_with_key(record) or 0)
    if claimed:
        _remember(record)
    return error(status, reason, record)


def _window_key(record: Signal) -> str:
    return f"strategies:recent:{record.strategy_id}:{record.body_hash}"


def _first_delivery(record: Signal) -> Signal | int | None:
    """The earlier delivery with the same body in the window (its id, 0 while it is being recorded), else
    None; claims the window. A repeated idempotency key is found by the insert (a unique constraint),
    which saves a query on every delivery that carries one."""
    window = settings.STRATEGY_DUPLICATE_WINDOW
    if window > 0 and not cache.add(_window_key(record), 0, window):
        return cache.get(_window_key(record)) or 0
    return None


def _remember(record: Signal) -> None:
    """Name the signal in the body's window, so a repeat says which signal it repeats."""
    if settings.STRATEGY_DUPLICATE_WINDOW > 0:
        cache.set(_window_key(record), record.pk, settings.STRATEGY_DUPLICATE_WINDOW)


def _duplicate(record: Signal, first: Signal | int) -> Answer:
    first_id = first.pk if isinstance(first, Signal) else first
    record.status, record.duplicate_of_id = SignalStatus.DUPLICATE, first_id or None
    record.reason = f"Repeats signal {first_id}: nothing placed." if first_id else "Repeats a delivery just received."
    _insert(record)
    body = {"status": "success", "duplicate": True, "message": record.reason, "signal_id": record.pk,
            "duplicate_of": first_id or None}
    return Answer(200, body, record)


def _accept(record: Signal, legs: list[Leg]) -> Answer:
    from strategies import tasks  # the task module imports the services

    record.status = SignalStatus.ACCEPTED
    try:
        _insert(record)
    except IntegrityError:  # its idempotency key was used before (or a moment ago, concurrently)
        record.pk = None
        return _duplicate(record, _first_with_key(record) or 0)
    signal_id = record.pk
    # Enqueued once the row is committed (at once in autocommit), so the worker always finds it.
    transaction.on_commit(lambda: tasks.fan_out.delay(signal_id))
    _remember(record)
    symbols = ", ".join(leg.symbol for leg in legs)
    return Answer(200, {"status": "success", "message": f"Signal accepted ({symbols}): orders are being placed on "
                                                        "the strategy's active deployments.", "signal_id": record.pk},
                  record)
