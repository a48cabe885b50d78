"""The base of the /api/v1/ views that read through the user's broker adapter (books, funds, quotes).

In analyze mode the adapter is the sandbox; otherwise the named (or primary) trading account's
broker; market data falls back to the user's next healthy account (brokers.services.marketdata).
Broker errors become domain errors here (from_broker), which the base view answers in OpenAlgo's
error shape, so views only shape successful results.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from rest_framework.request import Request

from brokers.adapters.base import BrokerAdapter, BrokerError
from brokers.services.marketdata import DirectReader, FallbackReader
from trading.openalgo_api.base import OpenAlgoView
from trading.services.errors import from_broker
from trading.services.routing import adapter_for_user

T = TypeVar("T")


class BrokerReadView(OpenAlgoView):
    """An OpenAlgoView with `adapter(request, data)` and `call(fn, ...)` that maps broker errors."""

    def adapter(self, request: Request, data: dict[str, Any]) -> BrokerAdapter:
        adapter = adapter_for_user(request.user, data.get("account") or None).adapter
        return adapter

    def market_reader(self, request: Request, data: dict[str, Any]) -> FallbackReader | DirectReader:
        """Market data (quotes, depth, history) through the user's route. Live and naming no account, a
        read falls back to the user's next healthy account when the primary cannot answer."""
        adapter, account, is_analyze = adapter_for_user(request.user, data.get("account") or None)
        if is_analyze or account is None or data.get("account"):
            return DirectReader(adapter)
        return FallbackReader(account, adapter)

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            return fn(*args)
        except BrokerError as exc:
            raise from_broker(exc) from exc
