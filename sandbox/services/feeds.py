"""Price feeds for the store: manual prices, CSV replays (ticks or bars) and a seeded random walk.
Every one writes through prices.set_price(), so each price change matches that instrument's orders."""
from __future__ import annotations

import csv
import datetime as dt
import math
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.apps import apps

from sandbox.models import PriceSource
from sandbox.services import instruments
from sandbox.services.money import IST, to_tick
from sandbox.services.prices import PriceError, PriceQuote, set_price, stored_quote


class FeedError(ValueError):
    """Bad input to a feed; the message names the symbol, price, file or line."""


def _decimal(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        raise FeedError(f"{what}: {text!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise FeedError(f"{what}: price must be positive, got {text!r}")
    return value


def parse_symbol_price(item: str, *, require_price: bool) -> tuple[str, str, Decimal | None]:
    """'NSE:SBIN=812.5' -> ('NSE', 'SBIN', Decimal('812.5'))."""
    name, sep, price_text = item.partition("=")
    exchange, colon, symbol = name.strip().upper().partition(":")
    if not colon or not exchange or not symbol or not exchange.replace("_", "").isalnum():
        raise FeedError(f"{item!r}: expected EXCHANGE:SYMBOL=PRICE, e.g. NSE:SBIN=812.5")
    if not sep or not price_text.strip():
        if require_price:
            raise FeedError(f"{item!r}: no price (expected {exchange}:{symbol}=PRICE)")
        return exchange, symbol, None
    return exchange, symbol, _decimal(price_text, f"{exchange}:{symbol}")


def check_known(exchange: str, symbol: str) -> None:
    """Catch typos: once an exchange's instruments are in the master, a symbol it lacks is refused.
    (An exchange with no master loaded, as in a fresh demo, takes any symbol.)"""
    if instruments.spec(exchange, symbol).known:
        return
    try:
        model = apps.get_model("brokers", "Instrument")
    except LookupError:
        return
    if model.objects.filter(exchange=exchange).exists():
        raise FeedError(f"{exchange}:{symbol}: not in the instrument master")


def store(exchange: str, symbol: str, price: Decimal, **quote) -> PriceQuote:
    try:
        return set_price(exchange, symbol, price, **quote)
    except PriceError as exc:
        raise FeedError(f"{exchange}:{symbol}: {exc}") from None


# --- Replay -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReplayRow:
    line: int
    at: dt.datetime
    exchange: str
    symbol: str
    ltp: Decimal
    bid: Decimal | None = None
    ask: Decimal | None = None
    volume: int | None = None
    open: Decimal | None = None
    high: Decimal | None = None
    low: Decimal | None = None
    is_bar: bool = False


def _timestamp(text: str, line: int) -> dt.datetime:
    text = (text or "").strip()
    try:
        if text.replace(".", "", 1).isdigit():
            seconds = float(text)
            return dt.datetime.fromtimestamp(seconds / 1000 if seconds > 1e11 else seconds, tz=dt.UTC)
        at = dt.datetime.fromisoformat(text)
    except ValueError:
        raise FeedError(f"line {line}: bad timestamp {text!r}") from None
    return at if at.tzinfo else at.replace(tzinfo=IST)  # naive times in a replay are exchange (IST) times


def _optional(row: dict, key: str, what: str) -> Decimal | None:
    text = (row.get(key) or "").strip()
    return _decimal(text, what) if text else None


def read_replay(path: str | Path) -> list[ReplayRow]:
    """Parse and check the whole file first, so a bad line stops the replay before it starts."""
    try:
        handle = open(path, newline="")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise FeedError(f"cannot read {path}: {exc.strerror}") from None
    with handle:
        reader = csv.DictReader(handle)
        fields = {f.strip().lower() for f in reader.fieldnames or []}
        checked: set[tuple[str, str]] = set()
        if not {"timestamp", "exchange", "symbol"} <= fields or not ({"ltp"} <= fields or {"close"} <= fields):
            raise FeedError(f"{path}: header must have timestamp,exchange,symbol and ltp (ticks) or "
                            "open,high,low,close (bars)")
        bars = "ltp" not in fields
        rows = []
        for n, raw in enumerate(reader, start=2):
            row = {(k or "").strip().lower(): v for k, v in raw.items()}
            exchange, symbol = (row.get("exchange") or "").strip().upper(), (row.get("symbol") or "").strip().upper()
            if not exchange or not symbol:
                raise FeedError(f"line {n}: exchange and symbol are required")
            what = f"line {n} {exchange}:{symbol}"
            if (exchange, symbol) not in checked:
                try:
                    check_known(exchange, symbol)
                except FeedError as exc:
                    raise FeedError(f"line {n}: {exc}") from None
                checked.add((exchange, symbol))
            volume_text = (row.get("volume") or "").strip()
            if volume_text and not volume_text.isdigit():
                raise FeedError(f"{what}: bad volume {volume_text!r}")
            volume = int(volume_text) if volume_text else None
            at = _timestamp(row.get("timestamp", ""), n)
            if bars:
                rows.append(ReplayRow(n, at, exchange, symbol, _decimal(row.get("close") or "", what), volume=volume,
                                      open=_optional(row, "open", what), high=_optional(row, "high", what),
                                      low=_optional(row, "low", what), is_bar=True))
            else:
                rows.append(ReplayRow(n, at, exchange, symbol, _decimal(row.get("ltp") or "", what),
                                      _optional(row, "bid", what), _optional(row, "ask", what), volume))
    return rows


def replay(rows: list[ReplayRow], *, speed: float = 0.0, sleep=time.sleep) -> Iterator[ReplayRow]:
    """Write each row to the store in file order; with speed > 0 wait the file's gaps / speed.
    Bar volumes add up into the day's volume; tick volumes are the day's volume already."""
    day_volume: dict[tuple[str, str, dt.date], int] = {}
    previous: dt.datetime | None = None
    for row in rows:
        if speed > 0 and previous is not None and row.at > previous:
            sleep((row.at - previous).total_seconds() / speed)
        previous = row.at
        volume = row.volume
        if row.is_bar and volume is not None:
            key = (row.exchange, row.symbol, row.at.astimezone(IST).date())
            day_volume[key] = volume = day_volume.get(key, 0) + volume
        store(row.exchange, row.symbol, row.ltp, bid=row.bid, ask=row.ask, volume=volume, open=row.open,
              high=row.high, low=row.low, source=PriceSource.REPLAY, at=row.at)
        yield row


# --- Random walk ------------------------------------------------------------------------------
class RandomWalk:
    """A seeded geometric random walk per instrument on its tick grid, with a one-tick spread.

    Starts from the given price or, failing that (or with resume), the store's last price. The same
    seed and starting prices give the same path, so demos and tests are repeatable."""

    def __init__(self, symbols: list[str], *, seed: int | None = None, volatility_bps: float = 10.0,
                 resume: bool = False) -> None:
        self.seed = seed if seed is not None else random.SystemRandom().randrange(1, 1_000_000)
        self.rng = random.Random(self.seed)
        self.sigma = volatility_bps / 10_000
        self.state: dict[tuple[str, str], Decimal] = {}
        self.volume: dict[tuple[str, str], int] = {}
        for item in symbols:
            exchange, symbol, price = parse_symbol_price(item, require_price=False)
            check_known(exchange, symbol)
            stored = stored_quote(exchange, symbol)
            if resume and stored is not None:  # carry on from where the last run left the price
                price = stored.ltp
            if price is None:
                if stored is None:
                    raise FeedError(f"{exchange}:{symbol}: no start price given and none stored")
                price = stored.ltp
            self.state[(exchange, symbol)] = price
            self.volume[(exchange, symbol)] = stored.volume if stored else 0  # the day's volume goes on
        if not self.state:
            raise FeedError("no symbols to simulate")

    @property
    def names(self) -> list[str]:
        return [f"{e}:{s}" for e, s in self.state]

    def next_price(self, exchange: str, symbol: str) -> Decimal:
        tick = instruments.spec(exchange, symbol).tick_size
        factor = math.exp(self.rng.gauss(0.0, self.sigma))
        price = to_tick(self.state[(exchange, symbol)] * Decimal(repr(factor)), tick)
        return max(price, tick * 2)  # never at or below one tick: the bid must stay positive

    def step(self) -> list[PriceQuote]:
        quotes = []
        for exchange, symbol in self.state:
            tick = instruments.spec(exchange, symbol).tick_size
            price = self.next_price(exchange, symbol)
            self.state[(exchange, symbol)] = price
            traded = self.rng.randint(1, 50) * 10
            self.volume[(exchange, symbol)] += traded
            quotes.append(store(exchange, symbol, price, bid=price - tick, ask=price + tick,
                                bid_qty=self.rng.randint(1, 100) * 10, ask_qty=self.rng.randint(1, 100) * 10,
                                volume=self.volume[(exchange, symbol)], source=PriceSource.SIMULATED))
        return quotes
