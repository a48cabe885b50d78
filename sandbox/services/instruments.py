"""What the sandbox needs to know about an instrument: lot size, tick size and type (for leverage).

Read from the brokers app's instrument master through its one cached look-up (there is no second
cache here: an import invalidates it everywhere); an instrument missing from it (a demo symbol, a
master not loaded yet) falls back to lot 1, the exchange's usual tick and a type read off the symbol.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from brokers.services.instruments import cache_keys as master_cache_keys
from brokers.services.instruments import get_instrument

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


def spec(exchange: str, symbol: str, *, read_ahead: Mapping[str, Any] | None = None) -> InstrumentSpec:
    """The instrument's spec from the instrument master's one cached look-up (brokers), which every
    import invalidates in every process; a guess for an instrument the master lacks. `read_ahead`
    holds the master's cache entries when the caller read them with its own (cache_keys())."""
    row = get_instrument(exchange, symbol, read_ahead=read_ahead)
    if row is None:
        return _guess(exchange, symbol)
    return InstrumentSpec(exchange, symbol, row.instrument_type, int(row.lot_size), Decimal(row.tick_size), True)


def cache_keys(exchange: str, symbol: str) -> list[str]:
    """The cache entries spec() reads, for a caller that reads them with its own in one round trip."""
    return master_cache_keys(exchange, symbol)
