"""OpenAlgo's feed protocol: modes, requests, answers and the data of each mode.

Facts from OpenAlgo's server (websocket_proxy/server.py), which wins over its prose document: modes are
1/2/3 or "LTP"/"Quote"/"Depth" in any case; subscribe takes a `symbols` list or a flat symbol/exchange;
an unsubscribe entry carries its own mode; errors are {"status": "error", "code", "message"}; every
answer is JSON text. Pure functions only: the consumer and the hub call them.
"""
from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

from brokers.models import Exchange

MODES = {1: "LTP", 2: "Quote", 3: "Depth"}
_BY_LABEL = {label.upper(): number for number, label in MODES.items()}
DEPTH_LEVELS = 5
EXCHANGES = frozenset(Exchange.values)


class ProtocolError(ValueError):
    """A request the feed cannot carry out: answered as {"status": "error", "code", "message"}."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"), default=str)


def error(code: str, message: str) -> str:
    return dumps({"status": "error", "code": code, "message": message})


def now_ms() -> int:
    return int(time.time() * 1000)


def mode_of(value: Any) -> int:
    """1, 2, 3 or "LTP", "Quote", "Depth" (any case) as the mode's number."""
    if isinstance(value, bool):
        raise ProtocolError("INVALID_MODE", f"Invalid mode {value!r}; expected 1 (LTP), 2 (Quote) or 3 (Depth)")
    if isinstance(value, int) and value in MODES:
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.upper() in _BY_LABEL:
            return _BY_LABEL[text.upper()]
        if text.isdigit() and int(text) in MODES:
            return int(text)
    raise ProtocolError("INVALID_MODE", f"Invalid mode {value!r}; expected 1 (LTP), 2 (Quote) or 3 (Depth), "
                                        "or 'LTP', 'Quote', 'Depth'")


def requested_symbols(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The `symbols` list, or the flat symbol/exchange form as a list of one."""
    symbols = data.get("symbols")
    if symbols is None or symbols == []:
        if data.get("symbol") or data.get("exchange"):
            return [{"symbol": data.get("symbol"), "exchange": data.get("exchange"), "mode": data.get("mode")}]
        return []
    if not isinstance(symbols, list) or not all(isinstance(item, dict) for item in symbols):
        raise ProtocolError("INVALID_PARAMETERS", "symbols must be a list of {\"symbol\", \"exchange\"} objects")
    return symbols


def instrument(item: dict[str, Any]) -> tuple[str, str]:
    """(EXCHANGE, SYMBOL) of one requested entry; ProtocolError naming the field when it is not one."""
    exchange, symbol = item.get("exchange"), item.get("symbol")
    if not isinstance(symbol, str) or not symbol.strip() or len(symbol) > 64:
        raise ProtocolError("INVALID_PARAMETERS", f"symbol: expected a trading symbol, got {symbol!r}")
    if not isinstance(exchange, str) or exchange.strip().upper() not in EXCHANGES:
        raise ProtocolError("INVALID_PARAMETERS",
                            f"exchange: {exchange!r} is not one of {', '.join(sorted(EXCHANGES))}")
    return exchange.strip().upper(), symbol.strip().upper()


# --- Market data ---------------------------------------------------------------------------------
def _num(value: Any) -> float:
    return round(float(value or 0), 4)


def store_tick_data(event: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """The data of each mode for one quote of the price store (as the bus carries it: numbers as strings).

    The store knows the LTP, OHLC, the previous close, volume and the best bid and ask with their sizes:
    a depth tick with one level a side (the other four zero, as OpenAlgo pads), serving every mode.
    """
    ltp = Decimal(event["ltp"])
    prev_close = Decimal(event.get("pc") or 0)
    change = ltp - prev_close if prev_close else Decimal(0)
    at = int(event["t"])
    ltp_data = {"ltp": _num(ltp), "ltt": at, "timestamp": at}
    quote = {
        **ltp_data,
        "open": _num(event.get("o")), "high": _num(event.get("h")), "low": _num(event.get("l")),
        "close": _num(prev_close), "volume": int(event.get("v") or 0),
        "change": _num(change), "change_percent": _num(change / prev_close * 100) if prev_close else 0.0,
        "bid": _num(event.get("bid")), "ask": _num(event.get("ask")),
        "bid_qty": int(event.get("bq") or 0), "ask_qty": int(event.get("aq") or 0),
        "last_trade_quantity": 0, "avg_trade_price": 0.0,
    }
    empty = {"price": 0.0, "quantity": 0, "orders": 0}
    buy = [{"price": quote["bid"], "quantity": quote["bid_qty"], "orders": 1 if quote["bid_qty"] else 0}]
    sell = [{"price": quote["ask"], "quantity": quote["ask_qty"], "orders": 1 if quote["ask_qty"] else 0}]
    depth = {**quote, "totalbuyqty": quote["bid_qty"], "totalsellqty": quote["ask_qty"],
             "depth": {"buy": buy + [empty] * (DEPTH_LEVELS - 1), "sell": sell + [empty] * (DEPTH_LEVELS - 1)}}
    return {1: ltp_data, 2: quote, 3: depth}


def market_data(exchange: str, symbol: str, mode: int, broker: str, data: dict[str, Any]) -> str:
    return dumps({"type": "market_data", "symbol": symbol, "exchange": exchange, "mode": mode, "broker": broker,
                  "data": data})


class Tick:
    """One tick for the hub: its instrument, its highest mode, and each mode's text, built once on demand
    (one tick goes to many clients: JSON encoding is a per-tick cost, never a per-client one).

    `datas` maps each mode to its data, or is a callable returning that mapping (built on first use).
    """

    __slots__ = ("_datas", "_texts", "broker", "exchange", "mode", "symbol")

    def __init__(self, exchange: str, symbol: str, mode: int, broker: str, datas) -> None:
        self.exchange, self.symbol, self.mode, self.broker = exchange, symbol, mode, broker
        self._datas = datas
        self._texts: dict[int, str] = {}

    def text(self, mode: int) -> str:
        text = self._texts.get(mode)
        if text is None:
            if callable(self._datas):
                self._datas = self._datas()
            text = self._texts[mode] = market_data(self.exchange, self.symbol, mode, self.broker, self._datas[mode])
        return text


def store_tick(event: dict[str, Any]) -> Tick:
    return Tick(event["ex"], event["sym"], 3, "sandbox", lambda: store_tick_data(event))


def upstream_tick(message: dict[str, Any], broker: str) -> Tick | None:
    """A market_data message of an upstream OpenAlgo server: its data serves its mode and every lower one."""
    try:
        exchange, symbol = instrument(message)
        mode = mode_of(message.get("mode"))
    except ProtocolError:
        return None
    data = message.get("data")
    if not isinstance(data, dict):
        return None
    return Tick(exchange, symbol, mode, str(message.get("broker") or broker), dict.fromkeys(range(1, mode + 1), data))
