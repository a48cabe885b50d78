"""What the sandbox needs to know about an instrument: lot size, tick size and type (for leverage).

Read from the brokers app's instrument master; an instrument missing from it (a demo symbol, a
master not loaded yet) falls back to lot 1, the exchange's usual tick and a type read off the symbol.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.apps import apps
from django.core.cache import cache

CACHE_SECONDS = 3600
DERIVATIVE_EXCHANGES = frozenset({"NFO", "BFO", "CDS", "BCD", "MCX", "NCDEX", "NCO"})
_DEFAULT_TICK = {"NSE": Decimal("0.05"), "BSE": Decimal("0.05"), "NFO": Decimal("0.05"), "BFO": Decimal("0.05"),
                 "CDS": Decimal("0.0025"), "BCD": Decimal("0.0025")}


@dataclass(frozen=True)
class InstrumentSpec:
    exchange: str
    symbol: str
    instrument_type: str  # EQ, FUT, CE, PE, INDEX
    lot_size: int = 1
    tick_size: Decimal = Decimal("0.01")
    known: bool = False

    @property
    def is_option(self) -> bool:
        return self.instrument_type in ("CE", "PE")

    @property
    def is_future(self) -> bool:
        return self.instrument_type == "FUT"


def _guess(exchange: str, symbol: str) -> InstrumentSpec:
    kind = "EQ"
    if exchange in DERIVATIVE_EXCHANGES:
        if symbol.endswith("FUT"):
            kind = "FUT"
        elif symbol.endswith(("CE", "PE")):
            kind = symbol[-2:]
        else:
            kind = "FUT"  # commodity and currency contracts without a suffix trade as futures
    elif exchange.endswith("_INDEX"):
        kind = "INDEX"
    return InstrumentSpec(exchange, symbol, kind, 1, _DEFAULT_TICK.get(exchange, Decimal("0.01")), False)


def cache_key(exchange: str, symbol: str) -> str:
    return f"sandbox:instrument:{exchange}:{symbol}"


def spec(exchange: str, symbol: str) -> InstrumentSpec:
    key = cache_key(exchange, symbol)
    found = cache.get(key)
    if found is not None:
        return found
    try:
        model = apps.get_model("brokers", "Instrument")
    except LookupError:
        model = None
    row = None
    if model is not None:
        row = (model.objects.filter(exchange=exchange, symbol=symbol)
               .values("instrument_type", "lot_size", "tick_size").first())
    if row:
        found = InstrumentSpec(exchange, symbol, row["instrument_type"], int(row["lot_size"]),
                               Decimal(row["tick_size"]), True)
    else:
        found = _guess(exchange, symbol)
    cache.set(key, found, CACHE_SECONDS)
    return found
