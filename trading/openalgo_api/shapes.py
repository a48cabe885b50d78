"""OpenAlgo's response shapes for the read endpoints (account, market data, reference).

AlgoDesk keeps Decimal everywhere; OpenAlgo's JSON carries numbers as JSON numbers, money and prices
rounded to two places, quantities as integers when whole (fractional only on CRYPTO). The
conversion happens here, at the edge, and nowhere else.
"""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from rest_framework import serializers

from brokers.adapters.base import (
    Candle,
    Depth,
    Funds,
    HoldingInfo,
    OrderInfo,
    PositionInfo,
    Quote,
    TradeInfo,
)
from brokers.models import Exchange

IST = ZoneInfo("Asia/Kolkata")
_CENT = Decimal("0.01")

#: Adapter order states (trading.OrderStatus values) as OpenAlgo spells them to clients.
OPENALGO_STATUS = {
    "PENDING": "open",
    # Awaiting confirmation: it may be working at the broker. "open" keeps a client from placing it
    # again as if it had failed (a duplicate); the reconcile then moves it to the broker's state or rejected.
    "UNKNOWN": "open",
    "OPEN": "open",
    "PARTIALLY_FILLED": "open",
    "TRIGGER_PENDING": "trigger pending",
    "COMPLETE": "complete",
    "CANCELLED": "cancelled",
    "REJECTED": "rejected",
}


# --- numbers and times ------------------------------------------------------------------------
def money(value: Decimal | int | float | None) -> float:
    """Money or a price as OpenAlgo sends it: a float rounded to two places (half up on the Decimal)."""
    if value is None:
        return 0.0
    return float(Decimal(value).quantize(_CENT, rounding=ROUND_HALF_UP))


def qty(value: Decimal | int | float | None) -> int | float:
    """A quantity: an integer when whole, else a float (fractional CRYPTO quantities)."""
    if value is None:
        return 0
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else float(value)


def percent(part: Decimal, whole: Decimal) -> float:
    return money(part / whole * 100) if whole else 0.0


def timestamp(at: dt.datetime | None) -> str:
    """OpenAlgo's book timestamps: "YYYY-MM-DD HH:MM:SS" in exchange time (IST)."""
    if at is None:
        return ""
    if at.tzinfo is None:  # a naive time from a broker is taken as UTC, as Django stores times
        at = at.replace(tzinfo=dt.UTC)
    return at.astimezone(IST).strftime("%Y-%m-%d %H:%M:%S")


def epoch_ms(at: dt.datetime) -> int:
    return int(at.timestamp() * 1000)


# --- request fields ---------------------------------------------------------------------------
class ExchangeField(serializers.ChoiceField):
    """An exchange code; lower case accepted, answered with the list of allowed values."""

    def __init__(self, choices: list[str] | None = None, **kwargs: Any) -> None:
        allowed = choices or list(Exchange.values)
        kwargs.setdefault("error_messages", {"invalid_choice": f"must be one of {', '.join(allowed)}."})
        super().__init__(choices=allowed, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        return super().to_internal_value(data.strip().upper() if isinstance(data, str) else data)


class SymbolField(serializers.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 64)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        return super().to_internal_value(data).upper()


class AccountRequest(serializers.Serializer):
    """Every account and market-data request may name the trading account (an AlgoDesk extension);
    without it the user's primary account answers, or the sandbox in analyze mode."""

    account = serializers.CharField(required=False, allow_blank=True, max_length=64)


class InstrumentRequest(AccountRequest):
    symbol = SymbolField()
    exchange = ExchangeField()


# --- adapter results -> OpenAlgo dicts ----------------------------------------------------------
def funds_dict(funds: Funds) -> dict[str, float]:
    return {
        "availablecash": money(funds.available_cash),
        "collateral": money(funds.collateral),
        "m2mrealized": money(funds.m2m_realized),
        "m2munrealized": money(funds.m2m_unrealized),
        "utiliseddebits": money(funds.utilised_debits),
    }


def order_dict(order: OrderInfo) -> dict[str, Any]:
    return {
        "action": order.action,
        "symbol": order.symbol,
        "exchange": order.exchange,
        "orderid": order.broker_order_id,
        "product": order.product,
        "quantity": qty(order.quantity),
        # OpenAlgo shows 0 as the price of a MARKET order, whatever the broker echoed.
        "price": 0.0 if order.price_type == "MARKET" else money(order.price),
        "pricetype": order.price_type,
        "order_status": OPENALGO_STATUS.get(order.status, order.status.lower()),
        "trigger_price": money(order.trigger_price),
        "average_price": money(order.average_price),
        "filled_quantity": qty(order.filled_quantity),
        "timestamp": timestamp(order.timestamp),
    }


def order_statistics(orders: list[OrderInfo]) -> dict[str, int]:
    """Counts as OpenAlgo reports them; "open" includes orders still working (trigger pending, partly filled)."""
    states = [OPENALGO_STATUS.get(o.status, "") for o in orders]
    return {
        "total_buy_orders": sum(1 for o in orders if o.action == "BUY"),
        "total_sell_orders": sum(1 for o in orders if o.action == "SELL"),
        "total_completed_orders": states.count("complete"),
        "total_open_orders": states.count("open") + states.count("trigger pending"),
        "total_rejected_orders": states.count("rejected"),
    }


def trade_dict(trade: TradeInfo) -> dict[str, Any]:
    return {
        "action": trade.action,
        "symbol": trade.symbol,
        "exchange": trade.exchange,
        "orderid": trade.broker_order_id,
        "product": trade.product,
        "quantity": qty(trade.quantity),
        "average_price": money(trade.price),
        "timestamp": timestamp(trade.timestamp),
        "trade_value": money(trade.value),
    }


def position_dict(position: PositionInfo) -> dict[str, Any]:
    return {
        "symbol": position.symbol,
        "exchange": position.exchange,
        "product": position.product,
        "quantity": qty(position.quantity),
        "average_price": money(position.average_price),
        "ltp": money(position.ltp),
        "pnl": money(position.pnl),
    }


def holding_dict(holding: HoldingInfo) -> dict[str, Any]:
    invested = holding.average_price * holding.quantity
    return {
        "symbol": holding.symbol,
        "exchange": holding.exchange,
        "product": holding.product,
        "quantity": qty(holding.quantity),
        "average_price": money(holding.average_price),
        "ltp": money(holding.ltp),
        "pnl": money(holding.pnl),
        "pnlpercent": percent(holding.pnl, invested),
    }


def holding_statistics(holdings: list[HoldingInfo]) -> dict[str, float]:
    value = sum((h.ltp * h.quantity for h in holdings), Decimal("0"))
    invested = sum((h.average_price * h.quantity for h in holdings), Decimal("0"))
    pnl = sum((h.pnl for h in holdings), Decimal("0"))
    return {
        "totalholdingvalue": money(value),
        "totalinvvalue": money(invested),
        "totalprofitandloss": money(pnl),
        "totalpnlpercentage": percent(pnl, invested),
    }


def quote_dict(quote: Quote) -> dict[str, Any]:
    return {
        "open": money(quote.open),
        "high": money(quote.high),
        "low": money(quote.low),
        "ltp": money(quote.ltp),
        "ask": money(quote.ask),
        "bid": money(quote.bid),
        "prev_close": money(quote.prev_close),
        "volume": int(quote.volume),
        "oi": int(quote.oi),
    }


def depth_dict(depth: Depth) -> dict[str, Any]:
    def levels(side: list) -> list[dict[str, Any]]:
        # OpenAlgo always answers five levels a side, padding with zeros.
        rows = [{"price": money(lvl.price), "quantity": int(lvl.quantity)} for lvl in side[:5]]
        return rows + [{"price": 0.0, "quantity": 0} for _ in range(5 - len(rows))]

    body = quote_dict(depth.quote)
    body.update(
        ltq=int(depth.ltq),
        totalbuyqty=int(depth.total_buy_qty or sum(lvl.quantity for lvl in depth.bids)),
        totalsellqty=int(depth.total_sell_qty or sum(lvl.quantity for lvl in depth.asks)),
        bids=levels(depth.bids),
        asks=levels(depth.asks),
    )
    return body


def candle_dict(candle: Candle) -> dict[str, Any]:
    # OpenAlgo's history rows carry the bar's start as epoch seconds.
    return {
        "timestamp": int(candle.timestamp.timestamp()),
        "open": money(candle.open),
        "high": money(candle.high),
        "low": money(candle.low),
        "close": money(candle.close),
        "volume": int(candle.volume),
        "oi": int(candle.oi),
    }
