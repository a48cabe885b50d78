"""The sandbox as a broker: BrokerAdapter over the sandbox's services, one sandbox per user
(AdapterContext.user_id). The trading app reaches the sandbox only through this class."""
from __future__ import annotations

from contextlib import suppress
from decimal import Decimal

from brokers.adapters.base import (
    AdapterContext,
    BrokerAdapter,
    BrokerError,
    Candle,
    Depth,
    DepthLevel,
    Funds,
    HoldingInfo,
    OrderInfo,
    OrderNotFound,
    OrderResult,
    OrderSpec,
    PositionInfo,
    Quote,
    TradeInfo,
)
from sandbox.models import SandboxOrder, SandboxTrade
from sandbox.services import books, margin, orders, prices
from sandbox.services import history as stored_history
from sandbox.services.config import get_config
from sandbox.services.funds import get_funds
from sandbox.services.instruments import InstrumentSpec


def _info(order: SandboxOrder) -> OrderInfo:
    return OrderInfo(
        broker_order_id=order.order_id, exchange=order.exchange, symbol=order.symbol, action=order.action,
        quantity=order.quantity, price_type=order.price_type, product=order.product, status=order.status,
        price=order.price, trigger_price=order.trigger_price, filled_quantity=order.filled_quantity,
        average_price=order.average_price, rejection_reason=order.rejection_reason, timestamp=order.updated_at)


def _result(order: SandboxOrder, message: str = "") -> OrderResult:
    return OrderResult(broker_order_id=order.order_id, status=order.status, filled_quantity=order.filled_quantity,
                       average_price=order.average_price, message=message,
                       raw={"mode": "analyze", "margin_blocked": str(order.margin_blocked)})


class SandboxAdapter(BrokerAdapter):
    """Paper trading against the sandbox's price store. No credentials, no network."""

    name = "sandbox"
    credential_fields = ()
    runs_in_database = True  # its fills are rows in this database: the pipeline runs them in the order's transaction

    def __init__(self, context: AdapterContext) -> None:
        super().__init__(context)
        # What quotes() read per instrument (configuration, spec, quote), for the next order on it.
        self._last_lookup: dict[tuple[str, str], tuple] = {}

    @property
    def user_id(self) -> int:
        return self.context.user_id

    def prepare(self, order: OrderSpec) -> None:
        """Read the instrument's quote (a live account's, when the price store has none) before the
        pipeline's transaction; place_order() then uses it. A missing price is place_order's refusal."""
        if (order.exchange.upper(), order.symbol.upper()) not in self._last_lookup:
            with suppress(BrokerError):
                self._quote(order.exchange, order.symbol)

    def place_order(self, order: OrderSpec) -> OrderResult:
        exchange, symbol = order.exchange.upper(), order.symbol.upper()
        # The pipeline's risk check read this instrument's quote through quotes() a moment ago: the
        # order uses that read (configuration, spec and quote) instead of a second cache round trip.
        looked_up = self._last_lookup.pop((exchange, symbol), None)
        placed = orders.place_order(self.user_id, order, looked_up=looked_up)
        return _result(placed)

    def modify_order(self, change: OrderSpec) -> OrderResult:
        modified = orders.modify_order(self.user_id, change.order_id, quantity=Decimal(change.quantity),
                                       price_type=change.price_type.upper(), price=Decimal(change.price or 0),
                                       trigger_price=Decimal(change.trigger_price or 0))
        return _result(modified)

    def cancel_order(self, broker_order_id: str) -> OrderResult:
        return _result(orders.cancel_order(self.user_id, broker_order_id))

    def order_book(self) -> list[OrderInfo]:
        return [_info(o) for o in SandboxOrder.objects.filter(user_id=self.user_id).order_by("-id")]

    def order_status(self, broker_order_id: str) -> OrderInfo:
        order = SandboxOrder.objects.filter(user_id=self.user_id, order_id=broker_order_id).first()
        if order is None:
            raise OrderNotFound(f"Order {broker_order_id} not found in the sandbox.")
        return _info(order)

    def trade_book(self) -> list[TradeInfo]:
        return [TradeInfo(broker_order_id=t.order.order_id, exchange=t.exchange, symbol=t.symbol, action=t.action,
                          product=t.product, quantity=t.quantity, price=t.price, trade_id=t.trade_id,
                          timestamp=t.created_at)
                for t in SandboxTrade.objects.filter(user_id=self.user_id).select_related("order").order_by("-id")]

    def positions(self) -> list[PositionInfo]:
        return [PositionInfo(exchange=v.row.exchange, symbol=v.row.symbol, product=v.row.product,
                             quantity=v.row.quantity, average_price=v.row.average_price.quantize(Decimal("0.0001")),
                             ltp=v.ltp, realized_pnl=v.row.realized_pnl, unrealized_pnl=v.unrealized)
                for v in books.valued_positions(self.user_id)]

    def holdings(self) -> list[HoldingInfo]:
        return [HoldingInfo(exchange=v.row.exchange, symbol=v.row.symbol, quantity=v.row.quantity,
                            average_price=v.row.average_price.quantize(Decimal("0.0001")), ltp=v.ltp)
                for v in books.valued_holdings(self.user_id)]

    def funds(self) -> Funds:
        funds = get_funds(self.user_id)
        return Funds(available_cash=funds.available, collateral=Decimal("0"),
                     m2m_realized=funds.realized_pnl, m2m_unrealized=books.open_pnl(self.user_id),
                     utilised_debits=funds.used_margin)

    def _quote(self, exchange: str, symbol: str) -> prices.PriceQuote:
        exchange, symbol = exchange.upper(), symbol.upper()
        config, spec, quote = orders.lookups(exchange, symbol)  # one round trip when all are cached
        quote = quote or prices.get_quote(exchange, symbol, user_id=self.user_id)
        self._last_lookup[(exchange, symbol)] = (config, spec, quote)  # kept for the next order on it
        if quote is None:
            raise BrokerError(f"No price for {exchange}:{symbol} in the sandbox's price store.", permanent=True)
        return quote

    def quotes(self, exchange: str, symbol: str) -> Quote:
        q = self._quote(exchange, symbol)
        return Quote(ltp=q.ltp, open=q.open, high=q.high, low=q.low, prev_close=q.prev_close, bid=q.bid, ask=q.ask,
                     volume=q.volume, timestamp=q.updated_at)

    def depth(self, exchange: str, symbol: str) -> Depth:
        """The store knows the best bid and ask (with their quantities when a feed gave them): one
        level each side, never invented levels."""
        q = self._quote(exchange, symbol)
        bids = [DepthLevel(q.bid, q.bid_qty)] if q.bid > 0 else []
        asks = [DepthLevel(q.ask, q.ask_qty)] if q.ask > 0 else []
        return Depth(quote=self.quotes(exchange, symbol), bids=bids, asks=asks, total_buy_qty=q.bid_qty,
                     total_sell_qty=q.ask_qty)

    def intervals(self) -> list[str]:
        return stored_history.intervals()

    def history(self, exchange: str, symbol: str, interval: str, start: str, end: str) -> list[Candle]:
        """Candles from the stored bars (ticks of the price store and imports), aggregated on read."""
        return stored_history.history(self.user_id, exchange, symbol, interval, start, end)

    def leverage(self, instrument_type: str, product: str, action: str) -> Decimal:
        """The sandbox's leverage for a segment and product (the /api/v1/margin estimate divides by it)."""
        kind = InstrumentSpec(exchange="", symbol="", instrument_type=instrument_type.upper())
        return margin.leverage(get_config(), kind, product.upper(), action.upper())

    def ping(self) -> str:
        return "sandbox"
