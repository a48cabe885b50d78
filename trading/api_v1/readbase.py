"""The base of the /api/v1/ views that read through the user's broker adapter (books, funds, quotes).

In analyze mode the adapter is the sandbox; otherwise the named (or primary) trading account's
broker. Broker errors become OpenAlgo's error shape here, so views only shape successful results.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from rest_framework.request import Request

from brokers.adapters.base import BrokerAdapter, BrokerError, BrokerUnavailable, NotSupported, OrderNotFound
from trading.api_v1.base import ApiError, OpenAlgoView
from trading.services.routing import adapter_for_user

T = TypeVar("T")


def broker_status(exc: BrokerError) -> int:
    """HTTP status of a broker error: a missing order is 404, an operation the broker lacks is 501
    (as OpenAlgo answers an unimplemented margin calculator), a fault reaching it is 500, and a
    refusal of the request itself is 400."""
    if isinstance(exc, OrderNotFound):
        return 404
    if isinstance(exc, NotSupported):
        return 501
    if isinstance(exc, BrokerUnavailable):
        return 500
    return 400


class BrokerReadView(OpenAlgoView):
    """An OpenAlgoView with `adapter(request, data)` and `call(fn, ...)` that maps broker errors."""

    def adapter(self, request: Request, data: dict[str, Any]) -> BrokerAdapter:
        adapter, _account, _is_analyze = adapter_for_user(request.user, data.get("account") or None)
        return adapter

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            return fn(*args)
        except BrokerError as exc:
            raise ApiError(exc.message, broker_status(exc)) from exc
