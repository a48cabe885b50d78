"""Matching resting orders against the price store.

When a price changes, one query finds that instrument's resting orders the price crosses (the
crossing test is in SQL, over the (status, exchange, symbol) index); the periodic sweep does the same
for every instrument in one query joined to the price table. The cost grows with the orders that
fill, not with the orders that rest. Each fill then runs in its own transaction under the owner's funds lock.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import F, Q

from sandbox.models import RESTING, Action, OrderStatus, PriceType, SandboxConfig, SandboxOrder
from sandbox.services import instruments
from sandbox.services.config import get_config
from sandbox.services.fills import execute
from sandbox.services.funds import locked_funds
from sandbox.services.prices import PriceQuote, stored_quote, stored_quotes

log = logging.getLogger(__name__)


def crossing(ltp: Decimal | F) -> Q:
    """Resting orders that may trigger or fill at this LTP (a value, or the joined price store's)."""
    buy, sell = Q(action=Action.BUY), Q(action=Action.SELL)
    at_market = Q(price_type__in=(PriceType.MARKET, PriceType.SL_M))  # remainders of partial fills
    limit_hit = Q(price_type__in=(PriceType.LIMIT, PriceType.SL)) & ((buy & Q(price__gte=ltp))
                                                                      | (sell & Q(price__lte=ltp)))
    trigger_hit = (buy & Q(trigger_price__lte=ltp)) | (sell & Q(trigger_price__gte=ltp))
    return (Q(status=OrderStatus.OPEN) & (at_market | limit_hit)) | (Q(status=OrderStatus.TRIGGER_PENDING)
                                                                     & trigger_hit)


# The per-instrument crossing query is compiled once per database and executed with each price's
# values: the ORM's compilation of this OR-tree costs more than running it, and a feed runs it per tick.
_EXCHANGE, _SYMBOL, _LTP = "\x00exchange", "\x00symbol", Decimal("-987654.3210")
_compiled: dict[str, tuple[str, list]] = {}


def _template(alias: str) -> tuple[str, list]:
    if alias not in _compiled:
        queryset = (SandboxOrder.objects.using(alias)
                    .filter(exchange=_EXCHANGE, symbol=_SYMBOL, status__in=RESTING)
                    .filter(crossing(_LTP)).order_by("id").values_list("pk", "user_id"))
        sql, params = queryset.query.sql_with_params()
        _compiled[alias] = (sql, list(params))
    return _compiled[alias]


def _bind(param, exchange: str, symbol: str, ltp: Decimal):
    if param == _EXCHANGE:
        return exchange
    if param == _SYMBOL:
        return symbol
    if isinstance(param, (Decimal, str)) and str(param) == str(_LTP):
        return type(param)(ltp) if isinstance(param, Decimal) else str(ltp)
    return param


def crossed_orders(exchange: str, symbol: str, ltp: Decimal) -> list[tuple[int, int]]:
    """(order id, user id) of the instrument's resting orders that `ltp` may trigger or fill, oldest
    first: one query."""
    sql, params = _template(connection.alias)
    with connection.cursor() as cursor:
        cursor.execute(sql, [_bind(p, exchange, symbol, ltp) for p in params])
        return cursor.fetchall()


def _match_one(pk: int, user_id: int, quote: PriceQuote, config: SandboxConfig,
               spec: instruments.InstrumentSpec) -> int:
    with locked_funds(user_id) as funds:
        # Re-read under the lock: a cancel or another sweep may have got there first.
        order = SandboxOrder.objects.select_for_update().filter(pk=pk, status__in=RESTING).first()
        return execute(funds, order, quote, config, fresh=False, spec=spec) if order is not None else 0


def match_instrument(exchange: str, symbol: str, quote: PriceQuote | None = None) -> int:
    """Fill what the instrument's price crosses. One query when nothing crosses. Returns fills."""
    quote = quote or stored_quote(exchange, symbol)
    if quote is None:
        return 0
    crossed = crossed_orders(exchange, symbol, quote.ltp)
    if not crossed:
        return 0
    # One read of the configuration and the instrument for the whole match.
    config, spec = get_config(), instruments.spec(exchange, symbol)
    return sum(_match_one(pk, user_id, quote, config, spec) for pk, user_id in crossed)


@dataclass
class SweepResult:
    crossed: int = 0
    fills: int = 0

    def __str__(self) -> str:
        return f"sandbox sweep: {self.crossed} resting orders crossed by their stored price, {self.fills} filled"


def sweep(limit: int = 5000) -> SweepResult:
    """Match every resting order against its instrument's stored price: the safety net for prices
    written without matching, and for orders a crashed process left. One query (resting orders joined
    to the price table, the crossing test in SQL), then one transaction per crossed order, at most
    `limit` of them (oldest first): the next run takes the rest, so a run stays within its time limit."""
    crossed = list(SandboxOrder.objects.filter(status__in=RESTING).filter(crossing(F("last_price__ltp")))
                   .order_by("id").values_list("pk", "user_id", "exchange", "symbol")[:limit])
    result = SweepResult(crossed=len(crossed))
    if crossed:
        quotes = stored_quotes(list({(ex, sym) for _, _, ex, sym in crossed}))
        config, specs = get_config(), {}  # read once per sweep, not once per order
        for pk, user_id, exchange, symbol in crossed:
            quote = quotes.get((exchange, symbol))
            if quote is not None:
                if (exchange, symbol) not in specs:
                    specs[exchange, symbol] = instruments.spec(exchange, symbol)
                result.fills += _match_one(pk, user_id, quote, config, specs[exchange, symbol])
    return result
