"""Domain errors of the order pipeline. Each carries a kind (core.errors.ErrorKind: what went wrong), never
an HTTP status: each API maps kinds to its answers once, at its edge (trading/openalgo_api/base.py for
OpenAlgo's /api/v1/, core/resource_api/base.py for the resource API); the admin and the action center
show `.message`.

A broker's own errors (brokers.adapters.base.BrokerError and its subclasses) become domain errors
through from_broker(), the one mapping of broker faults, so the same fault is the same answer on
every endpoint.
"""
from __future__ import annotations

from brokers.adapters import base as broker
from core.errors import DomainError, ErrorKind


class TradingError(DomainError):
    """Base of the pipeline's errors: a message for the client and the kind of failure."""


class InvalidOrder(TradingError):
    """Bad input: the message names the field ("quantity: must be a multiple of the lot size 50")."""


class RiskRefused(TradingError):
    """The user's risk limits or the market calendar refused the order (recorded as REJECTED)."""

    kind = ErrorKind.REFUSED

    def __init__(self, message: str, order_id: int | None = None) -> None:
        super().__init__(message)
        self.order_id = order_id


class NoTradingAccount(TradingError):
    """The user has no active trading account (or none by the given name) and is not in analyze mode."""


class OrderNotFound(TradingError):
    kind = ErrorKind.NOT_FOUND


class BrokerFailure(TradingError):
    """The broker could not be reached or answered with a fault."""

    kind = ErrorKind.UNAVAILABLE


class BrokerRejected(TradingError):
    """The broker understood the request and refused it (funds, lot size, order already complete)."""

    kind = ErrorKind.REJECTED


def from_broker(exc: broker.BrokerError) -> TradingError:
    """The domain error for a broker's error: the one mapping of broker faults, used by every caller."""
    kind = exc.kind
    if kind == ErrorKind.NOT_FOUND:
        return OrderNotFound(exc.message)
    if kind == ErrorKind.REJECTED:
        return BrokerRejected(exc.message)
    return BrokerFailure(exc.message, kind)
