"""The sandbox's history and intervals: the stored bars (marketdata), aggregated on read.

When the store has no bar in the range and the user has a live primary account whose broker offers
history, that account's history answers instead (as a quote the store lacks comes from it too). The
call is made here, outside any transaction.
"""
from __future__ import annotations

import datetime as dt
import logging

from brokers.adapters.base import BrokerError, Candle
from marketdata.services import history as bars

log = logging.getLogger(__name__)


def intervals() -> list[str]:
    return list(bars.SERVED_INTERVALS)


def history(user_id: int, exchange: str, symbol: str, interval: str, start: str, end: str) -> list[Candle]:
    try:
        candles = bars.history(exchange, symbol, interval, dt.date.fromisoformat(start), dt.date.fromisoformat(end))
    except (bars.HistoryError, ValueError) as exc:
        raise BrokerError(str(exc), permanent=True) from None
    return candles or _live_history(user_id, exchange, symbol, interval, start, end)


def _live_history(user_id: int, exchange: str, symbol: str, interval: str, start: str, end: str) -> list[Candle]:
    from django.contrib.auth import get_user_model

    from brokers.services.accounts import primary_account
    from brokers.services.marketdata import FallbackReader

    user = get_user_model().objects.filter(pk=user_id).first()
    account = primary_account(user) if user else None
    if account is None or account.broker == "sandbox":  # never ask ourselves
        return []
    try:
        return FallbackReader(account).read(
            lambda adapter: adapter.history(exchange.upper(), symbol.upper(), interval, start, end))
    except BrokerError as exc:
        log.info("sandbox: no live history for %s:%s from account %s: %s", exchange, symbol, account.pk, exc.message)
        return []
