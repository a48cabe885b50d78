"""A broker reached through any OpenAlgo-compatible server (OpenAlgo itself or another AlgoDesk).

Every call is a POST of JSON to {host_url}/api/v1/<path> with the server's `apikey` in the body.
One pooled httpx.Client per host (and process) is kept, so order calls reuse warm keep-alive
connections instead of paying a TCP/TLS handshake each time.
"""
from __future__ import annotations

import os
import re
import threading
from decimal import Decimal
from typing import Any, ClassVar

import httpx
from django.conf import settings

from brokers.adapters.base import (
    ZERO,
    AdapterContext,
    BrokerAdapter,
    BrokerError,
    BrokerUnavailable,
    Candle,
    Depth,
    DepthLevel,
    Funds,
    HoldingInfo,
    OrderInfo,
    OrderNotFound,
    OrderRejected,
    OrderResult,
    OrderSpec,
    PositionInfo,
    Quote,
    SessionExpired,
    TradeInfo,
)
from brokers.adapters.egress import Egress
from brokers.adapters.openalgo_parse import STATUS_MAP, dec, integer, order_status_value, timestamp

__all__ = ["STATUS_MAP", "OpenAlgoAdapter", "client_for", "close_clients", "dec", "order_status_value", "strategy_tag",
           "timestamp"]

DEFAULT_STRATEGY = "AlgoDesk"
STRATEGY_MAX_LENGTH = 100  # an upstream AlgoDesk refuses longer tags; OpenAlgo takes any string


def strategy_tag(strategy: str, reference: str = "") -> str:
    """The `strategy` sent upstream: the user's own tag, then the order's reference in brackets.

    OpenAlgo refuses fields it does not know (its request schemas raise on them), so its free-text
    `strategy` is the one place an idempotency key can travel. The user's tag stays first and whole
    (cut only if the two would pass 100 characters), so upstream logs still group by strategy; the
    bracketed suffix ("SBIN-breakout [AD-1234]") is what a reconcile looks for in the order book.
    """
    strategy = strategy or DEFAULT_STRATEGY
    if not reference:
        return strategy[:STRATEGY_MAX_LENGTH]
    suffix = f" [{reference}]"
    return strategy[:STRATEGY_MAX_LENGTH - len(suffix)].rstrip() + suffix

#: What an upstream says when it refuses the key or the broker session (checked on 401/403 only).
SESSION_REFUSED = re.compile(r"invalid.*(api ?key|session|token)|(session|token).*(expired|invalid)|"
                             r"unauthori[sz]ed|not authenticated|login required", re.IGNORECASE)

_clients: dict[tuple, httpx.Client] = {}
_clients_lock = threading.Lock()


def client_for(host_url: str, egress: Egress | None = None) -> httpx.Client:
    """The shared, pooled client for one OpenAlgo host and egress (created on first use).

    One pool per (host, egress): an account bound to a source address or a proxy gets connections
    that leave only that way, never a warm socket another account opened.
    """
    egress = egress or Egress()
    connect = float(settings.OPENALGO_CONNECT_TIMEOUT)
    read = float(settings.OPENALGO_READ_TIMEOUT)
    # The pid is part of the key: a client created before a fork (gunicorn, celery prefork) must not
    # share its sockets with the children.
    key = (os.getpid(), host_url, connect, read, egress.key)
    client = _clients.get(key)
    if client is None:
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                client = _new_client(host_url, egress, httpx.Timeout(read, connect=connect, pool=connect))
                _clients[key] = client
    return client


def _new_client(host_url: str, egress: Egress, timeout: httpx.Timeout) -> httpx.Client:
    limits = httpx.Limits(max_connections=settings.OPENALGO_MAX_CONNECTIONS,
                          max_keepalive_connections=settings.OPENALGO_MAX_CONNECTIONS, keepalive_expiry=60.0)
    options: dict[str, Any] = {"base_url": host_url, "timeout": timeout,
                               "headers": {"User-Agent": "AlgoDesk-OpenAlgoAdapter"}}
    if not egress:
        return httpx.Client(limits=limits, **options)
    # An egress is exact: the environment's HTTP(S)_PROXY variables must not reroute it.
    transport = httpx.HTTPTransport(limits=limits, trust_env=False,
                                    local_address=egress.source_address or None, proxy=egress.proxy_url or None)
    return httpx.Client(transport=transport, trust_env=False, **options)


def close_clients() -> None:
    """Close every pooled client (tests, shutdown)."""
    with _clients_lock:
        for client in _clients.values():
            client.close()
        _clients.clear()


# --- Response parsing -----------------------------------------------------------------------
def _num(value: Decimal | int) -> str:
    # OpenAlgo accepts numbers as strings; str keeps Decimal exact (no float rounding on the wire).
    return format(Decimal(value), "f")


def _message(body: Any, response: httpx.Response) -> str:
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return f"HTTP {response.status_code} from {response.request.url.path}"


# --- The adapter ----------------------------------------------------------------------------
class OpenAlgoAdapter(BrokerAdapter):
    """Orders, books and market data through an OpenAlgo-compatible REST API."""

    name: ClassVar[str] = "openalgo"
    credential_fields: ClassVar[tuple[str, ...]] = ("host_url", "websocket_url", "api_key")

    def __init__(self, context: AdapterContext, *, client: httpx.Client | None = None) -> None:
        super().__init__(context)
        creds = context.credentials or {}
        self.host_url = str(creds.get("host_url") or "").strip().rstrip("/")
        self.api_key = str(creds.get("api_key") or "").strip()
        self._client = client

    @classmethod
    def validate_credentials(cls, credentials: dict[str, Any]) -> dict[str, str]:
        errors = {}
        host = str(credentials.get("host_url") or "").strip()
        if not host:
            errors["host_url"] = "host_url is required (e.g. http://127.0.0.1:5000)."
        elif not host.startswith(("http://", "https://")):
            errors["host_url"] = "host_url must start with http:// or https://."
        socket = str(credentials.get("websocket_url") or "").strip()
        if socket and not socket.startswith(("ws://", "wss://")):
            errors["websocket_url"] = "websocket_url must start with ws:// or wss://."
        if not str(credentials.get("api_key") or "").strip():
            errors["api_key"] = "api_key (the OpenAlgo server's API key) is required."
        return errors

    # -- transport --
    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            if not self.host_url.startswith(("http://", "https://")):
                raise BrokerError("OpenAlgo credential host_url must be an http(s) URL.", permanent=True)
            self._client = client_for(self.host_url, self.context.egress)
        return self._client

    def _post(self, path: str, payload: dict[str, Any] | None = None, *, order: bool = False) -> dict[str, Any]:
        """POST to /api/v1/<path>; return the decoded success body or raise the matching BrokerError."""
        if not self.api_key:
            raise BrokerError("OpenAlgo credential api_key is not set.", permanent=True)
        body = {"apikey": self.api_key, **(payload or {})}
        timeout = self.context.timeout
        try:
            if timeout is None:
                response = self.client.post(f"/api/v1/{path}", json=body)
            else:
                response = self.client.post(f"/api/v1/{path}", json=body, timeout=httpx.Timeout(timeout))
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # Nothing was sent: retrying or failing over cannot duplicate anything.
            raise BrokerUnavailable(f"OpenAlgo server unreachable on {path}: {type(exc).__name__} {exc}.",
                                    data={"sent": False}) from exc
        except httpx.TransportError as exc:
            # The request may have arrived: an order may exist at the broker. Callers check the order
            # book (data["sent"]) before placing it again.
            hint = " The order may have reached the broker." if order else ""
            raise BrokerUnavailable(f"OpenAlgo server timed out or dropped the connection on {path}: "
                                    f"{type(exc).__name__}.{hint}", data={"sent": True}) from exc
        try:
            data = response.json()
        except ValueError:
            data = None
        status = response.status_code
        if status >= 500:
            raise BrokerUnavailable(_message(data, response), data={"http_status": status})
        if status == 429:
            raise BrokerUnavailable(_message(data, response),
                                    data={"http_status": status, "retry_after": (data or {}).get("retry_after")})
        if status in (401, 403) and SESSION_REFUSED.search(_message(data, response)):
            # The key or the broker session is not accepted (OpenAlgo: 403 "Invalid openalgo apikey";
            # sessions expire at the daily rollover). Nothing was placed; the account needs a new login.
            # An order call stays a rejection of that order (the pipeline records it as such).
            cls = OrderRejected if order else SessionExpired
            raise cls(_message(data, response), permanent=True, data={"http_status": status, "session_expired": True})
        if status == 404:
            raise OrderNotFound(_message(data, response), data={"http_status": status})
        if status >= 400:
            cls = OrderRejected if order and status in (400, 403) else BrokerError
            raise cls(_message(data, response), permanent=True, data={"http_status": status})
        if not isinstance(data, dict):
            raise BrokerUnavailable(f"OpenAlgo server sent a non-JSON answer to {path} (HTTP {status}).")
        if str(data.get("status", "")).lower() != "success":
            cls = OrderRejected if order else BrokerError
            raise cls(_message(data, response), permanent=True, data=data)
        return data

    def _data(self, path: str, payload: dict[str, Any] | None = None) -> Any:
        return self._post(path, payload).get("data")

    # -- orders --
    def place_order(self, order: OrderSpec) -> OrderResult:
        body = self._post("placeorder", {
            "strategy": strategy_tag(order.strategy, order.reference),
            "exchange": order.exchange, "symbol": order.symbol, "action": order.action.upper(),
            "quantity": _num(order.quantity), "pricetype": order.price_type, "product": order.product,
            "price": _num(order.price), "trigger_price": _num(order.trigger_price),
            "disclosed_quantity": _num(order.disclosed_quantity),
        }, order=True)
        return self._order_result(body)

    def modify_order(self, change: OrderSpec) -> OrderResult:
        body = self._post("modifyorder", {
            "strategy": change.strategy or DEFAULT_STRATEGY, "orderid": change.order_id,
            "exchange": change.exchange, "symbol": change.symbol, "action": change.action.upper(),
            "quantity": _num(change.quantity), "pricetype": change.price_type, "product": change.product,
            "price": _num(change.price), "trigger_price": _num(change.trigger_price),
            "disclosed_quantity": _num(change.disclosed_quantity),
        }, order=True)
        return self._order_result(body)

    def cancel_order(self, broker_order_id: str) -> OrderResult:
        body = self._post("cancelorder", {"strategy": DEFAULT_STRATEGY, "orderid": broker_order_id}, order=True)
        return self._order_result(body, status="CANCELLED", fallback_id=broker_order_id)

    @staticmethod
    def _order_result(body: dict, status: str = "OPEN", fallback_id: str = "") -> OrderResult:
        order_id = str(body.get("orderid") or fallback_id)
        if not order_id:
            raise BrokerUnavailable("OpenAlgo server accepted the order but sent no orderid.", data=body)
        return OrderResult(broker_order_id=order_id, status=status, message=str(body.get("message", "")), raw=body)

    def order_status(self, broker_order_id: str) -> OrderInfo:
        data = self._data("orderstatus", {"strategy": DEFAULT_STRATEGY, "orderid": broker_order_id})
        if not isinstance(data, dict):
            raise OrderNotFound(f"Order {broker_order_id} not found.")
        return self._order_info({"orderid": broker_order_id, **data})

    @staticmethod
    def _order_info(row: dict) -> OrderInfo:
        status = order_status_value(row.get("order_status"))
        quantity = dec(row.get("quantity"), "quantity")
        filled = dec(row.get("filled_quantity", row.get("filledshares")), "filled_quantity")
        if status == "COMPLETE" and not filled:
            filled = quantity
        return OrderInfo(
            broker_order_id=str(row.get("orderid", "")), exchange=str(row.get("exchange", "")),
            symbol=str(row.get("symbol", "")), action=str(row.get("action", "")).upper(), quantity=quantity,
            price_type=str(row.get("pricetype", "")), product=str(row.get("product", "")), status=status,
            price=dec(row.get("price"), "price"), trigger_price=dec(row.get("trigger_price"), "trigger_price"),
            filled_quantity=filled, average_price=dec(row.get("average_price"), "average_price"),
            rejection_reason=str(row.get("rejection_reason") or row.get("rejectreason") or ""),
            timestamp=timestamp(row.get("timestamp")),
            tag=str(row.get("strategy") or row.get("tag") or ""),
        )

    # -- books --
    def order_book(self) -> list[OrderInfo]:
        data = self._data("orderbook") or {}
        rows = data.get("orders", []) if isinstance(data, dict) else data
        return [self._order_info(row) for row in rows or []]

    def trade_book(self) -> list[TradeInfo]:
        return [
            TradeInfo(
                broker_order_id=str(row.get("orderid", "")), exchange=str(row.get("exchange", "")),
                symbol=str(row.get("symbol", "")), action=str(row.get("action", "")).upper(),
                product=str(row.get("product", "")), quantity=dec(row.get("quantity"), "quantity"),
                price=dec(row.get("average_price", row.get("price")), "average_price"),
                trade_id=str(row.get("tradeid", row.get("trade_id", "")) or ""),
                timestamp=timestamp(row.get("timestamp")),
            )
            for row in self._data("tradebook") or []
        ]

    def positions(self) -> list[PositionInfo]:
        result = []
        for row in self._data("positionbook") or []:
            quantity = dec(row.get("quantity"), "quantity")
            pnl = dec(row.get("pnl"), "pnl")
            # OpenAlgo reports one P&L figure: a flat position's is booked, an open one's is mark-to-market.
            result.append(PositionInfo(
                exchange=str(row.get("exchange", "")), symbol=str(row.get("symbol", "")),
                product=str(row.get("product", "")), quantity=quantity,
                average_price=dec(row.get("average_price"), "average_price"), ltp=dec(row.get("ltp"), "ltp"),
                realized_pnl=pnl if not quantity else ZERO, unrealized_pnl=pnl if quantity else ZERO,
            ))
        return result

    def holdings(self) -> list[HoldingInfo]:
        data = self._data("holdings") or {}
        rows = data.get("holdings", []) if isinstance(data, dict) else data
        result = []
        for row in rows or []:
            quantity = dec(row.get("quantity"), "quantity")
            average = dec(row.get("average_price"), "average_price")
            ltp = dec(row.get("ltp"), "ltp")
            pnl, pct = dec(row.get("pnl"), "pnl"), dec(row.get("pnlpercent"), "pnlpercent")
            if not average and pct and quantity:
                # OpenAlgo's holdings carry only pnl and pnl%: invested = pnl / pct * 100.
                average = (pnl * 100 / pct / quantity).quantize(Decimal("0.01"))
            if not ltp and average and quantity:
                ltp = (average + pnl / quantity).quantize(Decimal("0.01"))
            result.append(HoldingInfo(exchange=str(row.get("exchange", "")), symbol=str(row.get("symbol", "")),
                                      quantity=quantity, average_price=average, ltp=ltp,
                                      product=str(row.get("product") or "CNC")))
        return result

    def funds(self) -> Funds:
        data = self._data("funds") or {}
        return Funds(
            available_cash=dec(data.get("availablecash"), "availablecash"),
            collateral=dec(data.get("collateral"), "collateral"),
            m2m_realized=dec(data.get("m2mrealized"), "m2mrealized"),
            m2m_unrealized=dec(data.get("m2munrealized"), "m2munrealized"),
            utilised_debits=dec(data.get("utiliseddebits"), "utiliseddebits"),
        )

    # -- market data --
    @staticmethod
    def _quote(data: dict) -> Quote:
        return Quote(
            ltp=dec(data.get("ltp"), "ltp"), open=dec(data.get("open"), "open"), high=dec(data.get("high"), "high"),
            low=dec(data.get("low"), "low"), prev_close=dec(data.get("prev_close"), "prev_close"),
            bid=dec(data.get("bid"), "bid"), ask=dec(data.get("ask"), "ask"),
            volume=integer(data.get("volume"), "volume"), oi=integer(data.get("oi"), "oi"),
            timestamp=timestamp(data.get("timestamp")),
        )

    def quotes(self, exchange: str, symbol: str) -> Quote:
        data = self._data("quotes", {"exchange": exchange, "symbol": symbol})
        if not isinstance(data, dict):
            raise BrokerUnavailable(f"OpenAlgo server sent no quote for {exchange}:{symbol}.")
        return self._quote(data)

    def depth(self, exchange: str, symbol: str) -> Depth:
        data = self._data("depth", {"exchange": exchange, "symbol": symbol})
        if not isinstance(data, dict):
            raise BrokerUnavailable(f"OpenAlgo server sent no depth for {exchange}:{symbol}.")

        def levels(side: str) -> list[DepthLevel]:
            return [DepthLevel(price=dec(level.get("price"), f"{side}.price"),
                               quantity=integer(level.get("quantity"), f"{side}.quantity"))
                    for level in data.get(side) or []]

        bids, asks = levels("bids"), levels("asks")
        quote = self._quote({"bid": bids[0].price if bids else None, "ask": asks[0].price if asks else None,
                             **data})
        return Depth(quote=quote, bids=bids, asks=asks, ltq=integer(data.get("ltq"), "ltq"),
                     total_buy_qty=integer(data.get("totalbuyqty"), "totalbuyqty"),
                     total_sell_qty=integer(data.get("totalsellqty"), "totalsellqty"))

    def intervals(self) -> list[str]:
        """The upstream's served intervals, flattened from its {months, weeks, days, ...} groups."""
        data = self._data("intervals") or {}
        groups = data.values() if isinstance(data, dict) else [data]
        return [str(item) for group in groups if isinstance(group, list) for item in group]

    def history(self, exchange: str, symbol: str, interval: str, start: str, end: str) -> list[Candle]:
        data = self._data("history", {"exchange": exchange, "symbol": symbol, "interval": interval,
                                      "start_date": start, "end_date": end})
        candles = []
        for row in data or []:
            when = timestamp(row.get("timestamp"))
            if when is None:
                raise BrokerUnavailable(f"OpenAlgo server sent a candle without a timestamp: {row!r}.")
            candles.append(Candle(timestamp=when, open=dec(row.get("open"), "open"), high=dec(row.get("high"), "high"),
                                  low=dec(row.get("low"), "low"), close=dec(row.get("close"), "close"),
                                  volume=integer(row.get("volume"), "volume"), oi=integer(row.get("oi"), "oi")))
        return candles

    def ping(self) -> str:
        data = self._data("ping")
        broker = data.get("broker") if isinstance(data, dict) else None
        return f"openalgo:{broker}" if broker else "openalgo"
