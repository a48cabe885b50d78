"""The price store: one quote per instrument in the shared cache ("price:{exchange}:{symbol}") with the
LastPrice table behind it. Every writer calls set_price(), which updates both and then matches that
instrument's resting orders; readers try the cache, then the table, then a linked live account."""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.dispatch import Signal

from marketdata.services import history as bars
from marketdata.services import ticks
from sandbox.models import LastPrice, PriceSource
from sandbox.services import instruments
from sandbox.services.money import ZERO, ist_date, now, to_tick

log = logging.getLogger(__name__)


#: Sent with `quote` (a PriceQuote) after every stored price, for listeners to the right of the sandbox (the
#: real-time feed); a receiver that reaches outside waits for the commit (transaction.on_commit).
price_stored = Signal()


class PriceError(ValueError):
    """A price that cannot be stored (not positive, not a number)."""


@dataclass(frozen=True)
class PriceQuote:
    exchange: str
    symbol: str
    ltp: Decimal
    bid: Decimal = ZERO
    ask: Decimal = ZERO
    bid_qty: int = 0
    ask_qty: int = 0
    open: Decimal = ZERO
    high: Decimal = ZERO
    low: Decimal = ZERO
    prev_close: Decimal = ZERO
    volume: int = 0
    updated_at: dt.datetime | None = None
    source: str = PriceSource.MANUAL

    def buy_price(self) -> Decimal:
        """What a market buy pays: the ask when there is one, else the LTP."""
        return self.ask if self.ask > 0 else self.ltp

    def sell_price(self) -> Decimal:
        return self.bid if self.bid > 0 else self.ltp


def cache_key(exchange: str, symbol: str) -> str:
    return f"price:{exchange}:{symbol}"


def _from_row(row: LastPrice) -> PriceQuote:
    return PriceQuote(row.exchange, row.symbol, row.ltp, row.bid, row.ask, row.bid_qty, row.ask_qty, row.open,
                      row.high, row.low, row.prev_close, row.volume, row.updated_at, row.source)


def _positive(name: str, value: Any, tick: Decimal, *, allow_zero: bool = False) -> Decimal:
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        raise PriceError(f"{name} {value!r} is not a number") from None
    if not number.is_finite() or number < 0 or (number == 0 and not allow_zero):
        raise PriceError(f"{name} must be positive, got {value!r}")
    return to_tick(number, tick) if number else number


def set_price(exchange: str, symbol: str, ltp: Any, *, bid: Any = None, ask: Any = None, bid_qty: int | None = None,
              ask_qty: int | None = None, volume: int | None = None, open: Any = None, high: Any = None,
              low: Any = None, source: str = PriceSource.MANUAL, at: dt.datetime | None = None,
              match: bool = True) -> PriceQuote:
    """Store a quote for one instrument and (by default) match its resting orders against it.

    Prices are rounded to the instrument's tick. OHLC roll over on a new trading day (IST): prev_close
    becomes the last close before that day (stored bars, else the previous LTP). Without bid/ask the
    previous ones are dropped (they would be stale). Every price also lands in its 1-minute bar.
    """
    exchange, symbol = exchange.upper(), symbol.upper()
    at = at or now()
    tick = instruments.spec(exchange, symbol).tick_size
    ltp_d = _positive("LTP", ltp, tick)
    bid_d = _positive("bid", bid, tick, allow_zero=True) if bid is not None else ZERO
    ask_d = _positive("ask", ask, tick, allow_zero=True) if ask is not None else ZERO
    if bid_d and ask_d and bid_d > ask_d:
        raise PriceError(f"bid {bid_d} is above ask {ask_d}")
    day = ist_date(at)
    with transaction.atomic():
        row = LastPrice.objects.select_for_update().filter(exchange=exchange, symbol=symbol).first()
        if row is None:
            row = LastPrice(exchange=exchange, symbol=symbol, trading_day=day, prev_close=ZERO)
            new_day = True
        else:
            new_day = row.trading_day != day
        if new_day:  # the last close before today: stored bars (ticks or an import), else the last LTP
            row.prev_close = bars.previous_close(exchange, symbol, day) or (row.ltp if row.pk else ZERO)
            row.volume, row.trading_day = 0, day
        volume_before = row.volume
        bar_open = _positive("open", open, tick) if open is not None else None
        bar_high = _positive("high", high, tick) if high is not None else ltp_d
        bar_low = _positive("low", low, tick) if low is not None else ltp_d
        if new_day:
            row.open, row.high, row.low = bar_open or ltp_d, bar_high, bar_low
        else:
            row.high, row.low = max(row.high, bar_high, ltp_d), min(row.low, bar_low, ltp_d)
        row.ltp, row.bid, row.ask = ltp_d, bid_d, ask_d
        row.bid_qty = bid_qty if bid_qty is not None and bid_d else 0
        row.ask_qty = ask_qty if ask_qty is not None and ask_d else 0
        if volume is not None:
            row.volume = max(int(volume), 0)
        row.source, row.updated_at = source, at
        row.save()
        # The 1-minute bar, in the same transaction (the row lock above already orders writers of
        # this instrument); its volume is what traded since the previous tick of the day.
        ticks.record_tick(exchange, symbol, at, ltp_d, open=bar_open, high=bar_high, low=bar_low,
                          volume=row.volume - volume_before)
    quote = _from_row(row)
    cache.set(cache_key(exchange, symbol), quote, settings.SANDBOX["PRICE_CACHE_SECONDS"])
    price_stored.send(sender=LastPrice, quote=quote)
    if match:
        from sandbox.services.matching import match_instrument  # matching reads prices: import late

        match_instrument(exchange, symbol, quote)
    return quote


def stored_quote(exchange: str, symbol: str) -> PriceQuote | None:
    """The store's quote (cache, then table), without asking any broker."""
    quote = cache.get(cache_key(exchange, symbol))
    if quote is not None:
        return quote
    row = LastPrice.objects.filter(exchange=exchange, symbol=symbol).first()
    if row is None:
        return None
    quote = _from_row(row)
    cache.set(cache_key(exchange, symbol), quote, settings.SANDBOX["PRICE_CACHE_SECONDS"])
    return quote


def stored_quotes(pairs: list[tuple[str, str]]) -> dict[tuple[str, str], PriceQuote]:
    """Quotes of many instruments: one cache round trip, one query for those the cache lacks."""
    keys = {cache_key(ex, sym): (ex, sym) for ex, sym in pairs}
    found = {keys[k]: q for k, q in cache.get_many(list(keys)).items()}
    missing = [p for p in keys.values() if p not in found]
    if missing:
        wanted = set(missing)
        exchanges = {ex for ex, _ in missing}
        symbols = {sym for _, sym in missing}
        for row in LastPrice.objects.filter(exchange__in=exchanges, symbol__in=symbols):
            if (row.exchange, row.symbol) in wanted:
                found[(row.exchange, row.symbol)] = _from_row(row)
    return found


def get_quote(exchange: str, symbol: str, *, user_id: int | None = None) -> PriceQuote | None:
    """The store's quote; if it has none, the user's linked live account's (stored for next time)."""
    quote = stored_quote(exchange, symbol)
    if quote is None and user_id is not None:
        quote = _live_quote(exchange, symbol, user_id)
    return quote


def _live_quote(exchange: str, symbol: str, user_id: int) -> PriceQuote | None:
    try:
        from brokers.adapters.base import BrokerError
        from brokers.services.accounts import primary_account
        from brokers.services.marketdata import FallbackReader
    except ImportError:
        return None
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(pk=user_id).first()
    account = primary_account(user) if user else None
    if account is None or account.broker == "sandbox":  # never ask ourselves
        return None
    try:
        live = FallbackReader(account).read(lambda adapter: adapter.quotes(exchange, symbol))
    except BrokerError as exc:
        log.info("sandbox: no live quote for %s:%s from account %s: %s", exchange, symbol, account.pk, exc.message)
        return None
    if not live.ltp or live.ltp <= 0:
        return None
    quote = set_price(exchange, symbol, live.ltp, bid=live.bid or None, ask=live.ask or None, volume=live.volume,
                      source=PriceSource.LIVE, match=False)
    return replace(quote, open=live.open or quote.open, high=live.high or quote.high, low=live.low or quote.low)
