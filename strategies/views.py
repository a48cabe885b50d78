"""Strategy webhooks at OpenAlgo's paths, so existing alert setups and the official client's
Strategy.strategyorder() work unchanged:

- POST /strategy/webhook/<webhook_id>: TradingView, Amibroker, GoCharting, generic JSON;
- POST /chartink/webhook/<webhook_id>: ChartInk scanner alerts.

The URL is the credential (plus the optional webhook secret): no session, no CSRF token. Rate limited per
webhook (settings.RATE_LIMITS["webhook"], WEBHOOK_RATE_LIMIT). The work is strategies.services.signals.
"""
from __future__ import annotations

import uuid

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts import ratelimit
from core.clientip import client_ip
from strategies.models import SignalChannel
from strategies.services import signals

NOT_FOUND = "Unknown or inactive webhook."


def _answer(answer: signals.Answer) -> JsonResponse:
    response = JsonResponse(answer.body, status=answer.status)
    for name, value in answer.headers.items():
        response[name] = value
    return response


def _receive(request: HttpRequest, webhook_id: str, channel: str) -> JsonResponse:
    try:
        key = uuid.UUID(webhook_id)
    except ValueError:
        return _answer(signals.error(404, NOT_FOUND))
    wait = ratelimit.check("webhook", key.hex)
    if wait is not None:
        answer = signals.error(429, f"Too many deliveries to this webhook: try again in {wait} s.")
        answer.headers["Retry-After"] = str(wait)
        return _answer(answer)
    strategy = signals.find_strategy(webhook_id)
    if strategy is None:
        return _answer(signals.error(404, NOT_FOUND))
    raw = request.body
    if len(raw) > settings.STRATEGY_WEBHOOK_MAX_BYTES:
        return _answer(signals.error(400, f"body: larger than {settings.STRATEGY_WEBHOOK_MAX_BYTES} bytes."))
    return _answer(signals.receive(strategy, channel, raw, ip=client_ip(request),
                                   signature=request.headers.get(signals.SIGNATURE_HEADER),
                                   idempotency_header=request.headers.get(signals.IDEMPOTENCY_HEADER)))


@csrf_exempt
@require_POST
def strategy_webhook(request: HttpRequest, webhook_id: str) -> JsonResponse:
    return _receive(request, webhook_id, SignalChannel.WEBHOOK)


@csrf_exempt
@require_POST
def chartink_webhook(request: HttpRequest, webhook_id: str) -> JsonResponse:
    return _receive(request, webhook_id, SignalChannel.CHARTINK)
