"""Matching resting orders against the price store.

When a price changes, one query finds that instrument's resting orders the price crosses (the
crossing test is in SQL, over the (status, exchange, symbol) index); the periodic sweep does the same
for every instrument in one query joined to the price table. The cost grows with the orders that
fill, not with the orders that rest. Each user's crossed orders then fill in one transaction under their
funds lock (in batches), and the trading book's rows for them follow in the same commit (tradebook.follow).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import F, Q

from sandbox.models import RESTING, Action, OrderStatus, PriceType, SandboxConfig, SandboxOrder
from sandbox.services import instruments, tradebook
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


BATCH = 200  # crossed orders of one user matched in one transaction (one trading-book write per batch)


def _match_user(user_id: int, pks: list[int], quote_of, config: SandboxConfig, spec_of) -> int:
    """Match one user's crossed orders (oldest first) in one transaction under their funds lock; the
    trading book takes the changed orders' state in the same commit. Returns fills."""
    fills = 0
    with locked_funds(user_id) as funds:
        # Re-read under the lock: a cancel or another sweep may have got there first.
        orders = list(SandboxOrder.objects.select_for_update().filter(pk__in=pks, status__in=RESTING).order_by("id"))
        changed = []
        for order in orders:
            before = (order.status, order.filled_quantity)
            fills += execute(funds, order, quote_of(order), config, fresh=False, spec=spec_of(order))
            if (order.status, order.filled_quantity) != before:
                changed.append(order)
        tradebook.follow(user_id, changed, reason="sandbox_match", why="matched at the market price")
    return fills


def _match(crossed: list[tuple[int, int]], quote_of, config: SandboxConfig, spec_of) -> int:
    """(order id, user id) pairs, oldest first: one transaction per user and batch of BATCH."""
    by_user: dict[int, list[int]] = {}
    for pk, user_id in crossed:
        by_user.setdefault(user_id, []).append(pk)
    return sum(_match_user(user_id, pks[i:i + BATCH], quote_of, config, spec_of)
               for user_id, pks in by_user.items() for i in range(0, len(pks), BATCH))


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
    return _match(crossed, lambda order: quote, config, lambda order: spec)


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

        def spec_of(order: SandboxOrder) -> instruments.InstrumentSpec:
            key = (order.exchange, order.symbol)
            if key not in specs:
                specs[key] = instruments.spec(*key)
            return specs[key]

        priced = [(pk, user_id) for pk, user_id, ex, sym in crossed if (ex, sym) in quotes]
        result.fills = _match(priced, lambda order: quotes[order.exchange, order.symbol], config, spec_of)
    return result
