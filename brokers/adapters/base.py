"""The broker adapter interface: typed requests and results with Decimal prices, one exception tree.

Every broker (the paper-trading sandbox, an OpenAlgo-compatible server, ...) implements BrokerAdapter.
`trading` talks to brokers only through this interface. Values use OpenAlgo's vocabulary
(exchange codes, BUY/SELL, MARKET/LIMIT/SL/SL-M, MIS/CNC/NRML) so mapping stays trivial.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from brokers.adapters.egress import Egress
from core.errors import ErrorKind

ZERO = Decimal("0")


# --- Errors ---------------------------------------------------------------------------------
class BrokerError(Exception):
    """Base of every adapter error. `permanent` False means retrying (or failing over) may help."""

    permanent: bool = True

    def __init__(self, message: str, *, permanent: bool | None = None, data: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        if permanent is not None:
            self.permanent = permanent
        self.data = data or {}

    @property
    def kind(self) -> ErrorKind:
        """What went wrong, for the APIs' one mapping to HTTP (a transient fault is UNAVAILABLE)."""
        return ErrorKind.REJECTED if self.permanent else ErrorKind.UNAVAILABLE


class BrokerUnavailable(BrokerError):
    """The broker could not be reached or answered with a fault: transient by default."""

    permanent = False
    kind = ErrorKind.UNAVAILABLE


class SessionExpired(BrokerError):
    """The broker refused the account's key or session (it expires daily at the rollover): the account
    needs a new login. Permanent for this call, and not a connection fault: no failover follows."""

    permanent = True


class OrderRejected(BrokerError):
    """The broker understood the order and refused it (funds, lot size, ...): permanent."""

    permanent = True


class OrderNotFound(BrokerError):
    permanent = True
    kind = ErrorKind.NOT_FOUND


class NotSupported(BrokerError):
    """This broker does not offer the operation."""

    permanent = True
    kind = ErrorKind.NOT_SUPPORTED


# --- Requests and results -------------------------------------------------------------------
@dataclass(frozen=True)
class OrderSpec:
    """One order, the one type every part of the platform carries: parsed from a request (the parser
    is trading.services.validation, for every entry point), checked, routed, and sent to a broker by
    place_order(), or, with `order_id`, by modify_order(). Immutable: a change is a new spec (replace())."""

    exchange: str
    symbol: str
    action: str  # BUY / SELL
    quantity: Decimal
    price_type: str = "MARKET"  # MARKET / LIMIT / SL / SL-M
    product: str = "MIS"  # MIS / CNC / NRML
    price: Decimal = ZERO
    trigger_price: Decimal = ZERO
    disclosed_quantity: Decimal = ZERO
    strategy: str = ""
    #: The caller's idempotency key (a repeat returns the first order).
    client_order_id: str | None = None
    #: AlgoDesk's `account`: which of the user's trading accounts takes it (None: the primary one).
    account_name: str | None = None
    #: For a modification: the broker's id of the order it changes.
    order_id: str = ""
    #: The platform's own reference of this order (its idempotency key towards the broker): an adapter
    #: puts it where its broker keeps a tag, so a lost answer can be matched in the broker's order book.
    reference: str = ""
    #: The instrument master's lot and tick size, as the parser found them.
    lot_size: int = 1
    tick_size: Decimal = Decimal("0.01")

    def with_quantity(self, quantity: Decimal, action: str | None = None, *, keep_id: bool = False) -> OrderSpec:
        """The same order for another quantity (split children, smart deltas); the idempotency key is
        kept only when the new order stands for the request itself."""
        return replace(self, quantity=quantity, action=action or self.action,
                       disclosed_quantity=min(self.disclosed_quantity, quantity),
                       client_order_id=self.client_order_id if keep_id else None)

    def payload(self) -> dict[str, Any]:
        """OpenAlgo's field names, as JSON (for the action center and events)."""
        data = {"exchange": self.exchange, "symbol": self.symbol, "action": self.action,
                "quantity": str(self.quantity), "pricetype": self.price_type, "product": self.product,
                "price": str(self.price), "trigger_price": str(self.trigger_price),
                "disclosed_quantity": str(self.disclosed_quantity), "strategy": self.strategy}
        if self.client_order_id:
            data["client_order_id"] = self.client_order_id
        if self.account_name:
            data["account"] = self.account_name
        return data


@dataclass(frozen=True)
class OrderResult:
    """What the broker said when it accepted an order: its id and, if known already, its state."""

    broker_order_id: str
    status: str = "OPEN"  # trading.OrderStatus values: OPEN, TRIGGER_PENDING, COMPLETE, REJECTED, ...
    filled_quantity: Decimal = ZERO
    average_price: Decimal = ZERO
    message: str = ""
    raw: dict = field(default_factory=dict)


@dataclass(frozen=True)
class OrderInfo:
    broker_order_id: str
    exchange: str
    symbol: str
    action: str
    quantity: Decimal
    price_type: str
    product: str
    status: str  # OPEN, TRIGGER_PENDING, PARTIALLY_FILLED, COMPLETE, CANCELLED, REJECTED
    price: Decimal = ZERO
    trigger_price: Decimal = ZERO
    filled_quantity: Decimal = ZERO
    average_price: Decimal = ZERO
    rejection_reason: str = ""
    timestamp: datetime | None = None
    tag: str = ""  # the order's tag at the broker (OpenAlgo's strategy), when its order book carries one


@dataclass(frozen=True)
class TradeInfo:
    broker_order_id: str
    exchange: str
    symbol: str
    action: str
    product: str
    quantity: Decimal
    price: Decimal
    trade_id: str = ""
    timestamp: datetime | None = None

    @property
    def value(self) -> Decimal:
        return self.quantity * self.price


@dataclass(frozen=True)
class PositionInfo:
    exchange: str
    symbol: str
    product: str
    quantity: Decimal  # net: positive long, negative short
    average_price: Decimal = ZERO
    ltp: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    unrealized_pnl: Decimal = ZERO

    @property
    def pnl(self) -> Decimal:
        return self.realized_pnl + self.unrealized_pnl


@dataclass(frozen=True)
class HoldingInfo:
    exchange: str
    symbol: str
    quantity: Decimal
    average_price: Decimal = ZERO
    ltp: Decimal = ZERO
    product: str = "CNC"

    @property
    def pnl(self) -> Decimal:
        return (self.ltp - self.average_price) * self.quantity


@dataclass(frozen=True)
class Funds:
    available_cash: Decimal
    collateral: Decimal = ZERO
    m2m_realized: Decimal = ZERO
    m2m_unrealized: Decimal = ZERO
    utilised_debits: Decimal = ZERO


@dataclass(frozen=True)
class Quote:
    ltp: Decimal
    open: Decimal = ZERO
    high: Decimal = ZERO
    low: Decimal = ZERO
    prev_close: Decimal = ZERO
    bid: Decimal = ZERO
    ask: Decimal = ZERO
    volume: int = 0
    oi: int = 0
    timestamp: datetime | None = None


@dataclass(frozen=True)
class DepthLevel:
    price: Decimal
    quantity: int


@dataclass(frozen=True)
class Depth:
    quote: Quote
    bids: list[DepthLevel] = field(default_factory=list)
    asks: list[DepthLevel] = field(default_factory=list)
    ltq: int = 0
    total_buy_qty: int = 0
    total_sell_qty: int = 0


@dataclass(frozen=True)
class Candle:
    timestamp: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int = 0
    oi: int = 0  # open interest at the bar's close (0 for equities)


@dataclass(frozen=True)
class AdapterContext:
    """Who the adapter acts for: the user, and the trading account (with decrypted credentials) if any.

    `egress` is where the account's traffic must leave from (a network adapter honours it; no request
    may take another route). `timeout`, when set, bounds each call in seconds (health checks).
    """

    user_id: int
    account_id: int | None = None
    credentials: dict[str, Any] = field(default_factory=dict)
    egress: Egress = field(default_factory=Egress)
    timeout: float | None = None


# --- The interface --------------------------------------------------------------------------
class BrokerAdapter(abc.ABC):
    """One broker. Instances are cheap; construct one per request with get_adapter()."""

    name: ClassVar[str] = ""
    #: Credential fields an operator must supply for a TradingAccount of this broker.
    credential_fields: ClassVar[tuple[str, ...]] = ()
    #: True for a broker whose work is writes to the platform's own database and no network I/O (the
    #: sandbox). The pipeline then places the order and records it in one transaction: one commit,
    #: and a refused or duplicate order leaves nothing behind. It must never raise a refusal out of
    #: an atomic block it opens without a savepoint.
    runs_in_database: ClassVar[bool] = False

    def __init__(self, context: AdapterContext) -> None:
        self.context = context

    def prepare(self, order: OrderSpec) -> None:
        """Read what placing `order` will need from the network, before the pipeline opens the
        transaction place_order() runs in (a broker that runs in the database: its quote, which may
        come from a live account). No network call may happen inside that transaction."""
        return None

    @classmethod
    def validate_credentials(cls, credentials: dict[str, Any]) -> dict[str, str]:
        """Problems with a TradingAccount's credentials, by field name (empty when usable)."""
        return {}

    @abc.abstractmethod
    def place_order(self, order: OrderSpec) -> OrderResult: ...

    @abc.abstractmethod
    def modify_order(self, change: OrderSpec) -> OrderResult:
        """Change the resting order `change.order_id` to what `change` says."""

    @abc.abstractmethod
    def cancel_order(self, broker_order_id: str) -> OrderResult: ...

    @abc.abstractmethod
    def order_book(self) -> list[OrderInfo]: ...

    @abc.abstractmethod
    def trade_book(self) -> list[TradeInfo]: ...

    @abc.abstractmethod
    def positions(self) -> list[PositionInfo]: ...

    @abc.abstractmethod
    def holdings(self) -> list[HoldingInfo]: ...

    @abc.abstractmethod
    def funds(self) -> Funds: ...

    @abc.abstractmethod
    def quotes(self, exchange: str, symbol: str) -> Quote: ...

    def depth(self, exchange: str, symbol: str) -> Depth:
        return Depth(quote=self.quotes(exchange, symbol))

    def history(self, exchange: str, symbol: str, interval: str, start: str, end: str) -> list[Candle]:
        raise NotSupported(f"{self.name} does not provide historical data.")

    def order_status(self, broker_order_id: str) -> OrderInfo:
        for info in self.order_book():
            if info.broker_order_id == broker_order_id:
                return info
        raise OrderNotFound(f"Order {broker_order_id} not found.")

    @abc.abstractmethod
    def ping(self) -> str:
        """Return the broker's name if it answers; raise BrokerUnavailable otherwise."""
