"""Domain errors of the order pipeline, each with the HTTP status the /api/v1/ API answers it with.

They subclass the API's ApiError, so any OpenAlgoView that lets one escape answers in OpenAlgo's
error shape; the /api/ resource API and the admin read `.message` and `.status` the same way.
"""
from __future__ import annotations

from typing import Any

from trading.api_v1.base import ApiError


class TradingError(ApiError):
    """Base of the pipeline's errors. `status` is the HTTP status of the API answer."""

    status_code = 400

    def __init__(self, message: str, status: int | None = None, **extra: Any) -> None:
        super().__init__(message, self.status_code if status is None else status, **extra)


class InvalidOrder(TradingError):
    """Bad input: the message names the field ("quantity: must be a multiple of the lot size 50")."""


class RiskRefused(TradingError):
    """The user's risk limits or the market calendar refused the order (recorded as REJECTED)."""

    def __init__(self, message: str, order_id: int | None = None) -> None:
        super().__init__(message)
        self.order_id = order_id


class NoTradingAccount(TradingError):
    """The user has no active trading account (or none by the given name) and is not in analyze mode."""


class OrderNotFound(TradingError):
    status_code = 404


class BrokerFailure(TradingError):
    """The broker refused or could not be reached. OpenAlgo answers broker faults with HTTP 500 and the
    broker's message; a refusal of the order itself (funds, lot size) is a 400 like any rejection."""

    status_code = 500


class BrokerRejected(TradingError):
    """The broker understood the request and refused it (funds, lot size, order already complete): 400."""
