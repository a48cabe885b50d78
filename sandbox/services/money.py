"""Decimal helpers: money to the paisa, prices to the tick, and the trading day in IST."""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.utils import timezone

ZERO = Decimal("0")
PAISA = Decimal("0.01")
IST = ZoneInfo("Asia/Kolkata")
# Fine enough that the average price's finite precision never reaches the paisa (see paisa()).
_GUARD = Decimal("0.000001")


def paisa(value: Decimal) -> Decimal:
    """Round money to the paisa, halves away from zero. A first rounding to 6 places removes the error a 12-place
    average price leaves, so a value exactly on a half paisa rounds as its exact value would."""
    return value.quantize(_GUARD, rounding=ROUND_HALF_UP).quantize(PAISA, rounding=ROUND_HALF_UP)


def to_tick(price: Decimal, tick: Decimal, rounding: str = ROUND_HALF_UP) -> Decimal:
    """Round a price to a multiple of the instrument's tick size."""
    if tick <= 0:
        return price
    return ((price / tick).quantize(Decimal("1"), rounding=rounding) * tick).quantize(tick)


def tick_up(price: Decimal, tick: Decimal) -> Decimal:
    return to_tick(price, tick, ROUND_CEILING)


def tick_down(price: Decimal, tick: Decimal) -> Decimal:
    return to_tick(price, tick, ROUND_FLOOR)


def now() -> dt.datetime:
    return timezone.now()


def ist_date(at: dt.datetime | None = None) -> dt.date:
    """The trading day (IST) of an aware time."""
    return (at or timezone.now()).astimezone(IST).date()


def qty_text(quantity: Decimal) -> str:
    """A quantity as people write it: 10, 2.5 (no trailing zeros, no exponent)."""
    return f"{quantity.normalize():f}"
