"""What a delivery asks for: its legs (one per symbol), parsed from a webhook body.

Two bodies: the strategy webhook's JSON ({symbol, action, position_size?, quantity?, exchange?, price?},
what TradingView, Amibroker, GoCharting and the official client's Strategy.strategyorder send) and
ChartInk's scanner post (stocks "A,B,C", trigger_prices, scan_name, alert_name). Each leg carries an
intent, decided by the strategy's trading mode:

- LONG: BUY enters long with the mapped quantity, SELL exits the long position to flat;
- SHORT: SELL enters short, BUY exits the short position;
- BOTH: the position moves to `position_size` (signed; BUY needs it >= 0, SELL <= 0), as OpenAlgo's
  placesmartorder does. 0 is an exit, anything else an entry (for the windows).
- ChartInk: the scan's or alert's keyword: BUY enters long, SELL exits long, SHORT enters short, COVER
  exits short (LONG strategies take BUY and SELL, SHORT ones SHORT and COVER, BOTH all four).

Bad input raises InvalidOrder naming the field (the webhook answers 400 and records the refusal).
Quantities are per deployment before its multiplier; the fan-out applies it.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from brokers.models import Exchange
from strategies.models import Strategy, StrategySymbol, TradingMode
from trading.models import Action, PriceType
from trading.services.errors import InvalidOrder
from trading.services.validation import ACTIONS, EXCHANGES, MAX_PRICE, choice, number, text

ZERO = Decimal("0")
MAX_STOCKS = 50  # legs of one ChartInk post: a scanner's alert rarely lists more; bounds the fan-out
CHARTINK_KEYWORDS = ("BUY", "SELL", "SHORT", "COVER")


class Intent(StrEnum):
    ENTER_LONG = "enter_long"
    EXIT_LONG = "exit_long"
    ENTER_SHORT = "enter_short"
    EXIT_SHORT = "exit_short"
    TARGET = "target"  # move to `target` (BOTH mode)


@dataclass(frozen=True)
class Leg:
    """One symbol's order request of a signal, as stored in Signal.legs (decimals as strings)."""

    exchange: str
    symbol: str
    product: str
    price_type: str
    intent: str
    quantity: Decimal  # the entry quantity (mapped, or the body's `quantity`)
    target: Decimal = ZERO  # the target position of a TARGET leg
    price: Decimal = ZERO

    @property
    def is_entry(self) -> bool:
        if self.intent == Intent.TARGET:
            return self.target != 0
        return self.intent in (Intent.ENTER_LONG, Intent.ENTER_SHORT)

    def as_json(self) -> dict[str, str]:
        return {k: str(v) for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: Mapping[str, str]) -> Leg:
        return cls(exchange=data["exchange"], symbol=data["symbol"], product=data["product"],
                   price_type=data["price_type"], intent=data["intent"], quantity=Decimal(data["quantity"]),
                   target=Decimal(data["target"]), price=Decimal(data["price"]))


def _fail(field: str, problem: str) -> InvalidOrder:
    return InvalidOrder(f"{field}: {problem}")


def _mappings(strategy: Strategy, symbols: list[str]) -> dict[str, list[StrategySymbol]]:
    found: dict[str, list[StrategySymbol]] = {}
    for mapping in StrategySymbol.objects.filter(strategy=strategy, symbol__in=symbols):
        found.setdefault(mapping.symbol, []).append(mapping)
    return found


def _mapping(found: dict[str, list[StrategySymbol]], symbol: str, exchange: str | None,
             field: str = "symbol") -> StrategySymbol:
    candidates = [m for m in found.get(symbol, []) if exchange in (None, m.exchange)]
    if not candidates:
        where = f" on {exchange}" if exchange else ""
        raise _fail(field, f"{symbol!r}{where} is not mapped in this strategy (add it to its symbols).")
    if len(candidates) > 1:
        exchanges = ", ".join(sorted(m.exchange for m in candidates))
        raise _fail("exchange", f"{symbol!r} is mapped on {exchanges}: send the exchange.")
    return candidates[0]


def _price(mapping: StrategySymbol, price: Decimal, field: str) -> Decimal:
    if mapping.price_type in (PriceType.LIMIT, PriceType.SL) and price <= 0:
        raise _fail(field, f"is required for {mapping.symbol}, mapped as a {mapping.price_type} order.")
    return price


def parse_webhook(strategy: Strategy, data: Any) -> list[Leg]:
    """The strategy webhook's body: one leg."""
    if not isinstance(data, Mapping):
        raise _fail("body", "must be a JSON object.")
    symbol = text(data, "symbol").upper()
    action = choice(data, "action", ACTIONS)
    exchange = choice(data, "exchange", EXCHANGES) if data.get("exchange") not in (None, "") else None
    override = number(data, "quantity", required=False)
    price = number(data, "price", required=False, maximum=MAX_PRICE)
    mapping = _mapping(_mappings(strategy, [symbol]), symbol, exchange)
    quantity = override or mapping.quantity
    common = {"exchange": mapping.exchange, "symbol": mapping.symbol, "product": mapping.product,
              "price_type": mapping.price_type, "quantity": quantity, "price": _price(mapping, price, "price")}
    if strategy.trading_mode == TradingMode.BOTH:
        if data.get("position_size") in (None, ""):
            raise _fail("position_size", "is required by a strategy that trades both sides (BOTH).")
        target = number(data, "position_size", signed=True)
        if action == Action.BUY and target < 0:
            raise _fail("position_size", "must be 0 or more with BUY (0 exits a short position).")
        if action == Action.SELL and target > 0:
            raise _fail("position_size", "must be 0 or less with SELL (0 exits a long position).")
        return [Leg(intent=Intent.TARGET, target=target, **common)]
    long = strategy.trading_mode == TradingMode.LONG
    intents = {(True, Action.BUY): Intent.ENTER_LONG, (True, Action.SELL): Intent.EXIT_LONG,
               (False, Action.SELL): Intent.ENTER_SHORT, (False, Action.BUY): Intent.EXIT_SHORT}
    return [Leg(intent=intents[(long, action)], **common)]


def chartink_keyword(data: Mapping) -> str:
    """BUY, SELL, SHORT or COVER: the one keyword among the words of scan_name and alert_name."""
    words = set()
    for field in ("scan_name", "alert_name"):
        value = data.get(field)
        if value is not None and not isinstance(value, str):
            raise _fail(field, "must be a string.")
        words |= set(re.findall(r"[A-Z]+", (value or "").upper()))
    found = [k for k in CHARTINK_KEYWORDS if k in words]
    if not found:
        raise _fail("scan_name", "must contain one of the words BUY, SELL, SHORT or COVER (in scan_name or "
                                 "alert_name): it decides the side.")
    if len(found) > 1:
        raise _fail("scan_name", f"holds several side keywords ({', '.join(found)}); use exactly one.")
    return found[0]


_CHARTINK_INTENTS = {"BUY": Intent.ENTER_LONG, "SELL": Intent.EXIT_LONG, "SHORT": Intent.ENTER_SHORT,
                     "COVER": Intent.EXIT_SHORT}
_CHARTINK_MODES = {TradingMode.LONG: ("BUY", "SELL"), TradingMode.SHORT: ("SHORT", "COVER"),
                   TradingMode.BOTH: CHARTINK_KEYWORDS}


def _csv(data: Mapping, field: str, *, required: bool) -> list[str]:
    value = data.get(field)
    if value in (None, ""):
        if required:
            raise _fail(field, "this field is required.")
        return []
    if isinstance(value, list):
        value = ",".join(str(v) for v in value)
    if not isinstance(value, str | int | float):
        raise _fail(field, "must be a comma-separated string.")
    return [part.strip() for part in str(value).split(",")]


def _trigger_price(prices: list[str], index: int) -> Decimal:
    if not prices:
        return ZERO
    try:
        return number({"price": prices[index]}, "price", maximum=MAX_PRICE)
    except InvalidOrder as exc:
        raise _fail(f"trigger_prices[{index}]", exc.message.removeprefix("price: ")) from None


def parse_chartink(strategy: Strategy, data: Any) -> list[Leg]:
    """ChartInk's scanner post: one leg per stock, all on the side its keyword names."""
    if not isinstance(data, Mapping):
        raise _fail("body", "must be a JSON object.")
    keyword = chartink_keyword(data)
    if keyword not in _CHARTINK_MODES[strategy.trading_mode]:
        allowed = " and ".join(_CHARTINK_MODES[strategy.trading_mode])
        raise _fail("scan_name", f"{keyword} does not suit a {strategy.trading_mode} strategy (it takes {allowed}).")
    stocks = [s.upper() for s in _csv(data, "stocks", required=True)]
    if any(not s or len(s) > 64 for s in stocks):
        raise _fail("stocks", "must be comma-separated symbols (none empty).")
    if len(stocks) > MAX_STOCKS:
        raise _fail("stocks", f"at most {MAX_STOCKS} stocks in one alert.")
    if len(set(stocks)) != len(stocks):
        raise _fail("stocks", "lists a stock twice.")
    prices = _csv(data, "trigger_prices", required=False)
    if prices and len(prices) != len(stocks):
        raise _fail("trigger_prices", f"has {len(prices)} prices for {len(stocks)} stocks.")
    found = _mappings(strategy, stocks)
    unmapped = [s for s in stocks if s not in found]
    if unmapped:
        raise _fail("stocks", f"not mapped in this strategy: {', '.join(unmapped)} (add them to its symbols).")
    legs = []
    for index, stock in enumerate(stocks):
        # ChartInk scans NSE's cash market: prefer an NSE mapping when a stock is mapped on several exchanges.
        mapping = _mapping(found, stock, Exchange.NSE if len(found[stock]) > 1 else None, field="stocks")
        price = _trigger_price(prices, index)
        legs.append(Leg(exchange=mapping.exchange, symbol=mapping.symbol, product=mapping.product,
                        price_type=mapping.price_type, intent=_CHARTINK_INTENTS[keyword], quantity=mapping.quantity,
                        price=_price(mapping, price, "trigger_prices")))
    return legs
