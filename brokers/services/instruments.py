"""The instrument master: cached look-ups for the order pipeline, search and expiries.

get_instrument() runs on every order, so hits come from the shared cache (0 queries) and a miss
costs one query. Imports bump a generation number stored with every entry, which invalidates all
cached entries at once without having to enumerate them.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from django.core.cache import cache
from django.db.models import Case, IntegerField, Q, Value, When

from brokers.models import Exchange, Instrument, InstrumentType

CACHE_SECONDS = 6 * 60 * 60
_GENERATION_KEY = "brokers:instruments:generation"
_EXCHANGES = frozenset(Exchange.values)
_MISSING = "missing"  # cached negative answer: unknown symbols must not hit the database every order

EXPIRY_TYPES = {
    "futures": (InstrumentType.FUT,),
    "options": (InstrumentType.CE, InstrumentType.PE),
    InstrumentType.FUT.lower(): (InstrumentType.FUT,),
    InstrumentType.CE.lower(): (InstrumentType.CE,),
    InstrumentType.PE.lower(): (InstrumentType.PE,),
}


def _generation() -> int:
    generation = cache.get(_GENERATION_KEY)
    if generation is None:
        cache.add(_GENERATION_KEY, 1, None)
        generation = cache.get(_GENERATION_KEY, 1)
    return int(generation)


def invalidate_cache() -> None:
    """Forget every cached instrument (called after an import)."""
    try:
        cache.incr(_GENERATION_KEY)
    except ValueError:
        cache.set(_GENERATION_KEY, 2, None)


def _key(exchange: str, symbol: str) -> str:
    return f"brokers:instrument:{exchange}:{symbol}"


def cache_keys(exchange: object, symbol: object) -> list[str]:
    """The cache entries get_instrument() reads, for a caller that reads them along with its own in one
    round trip and passes them back as `read_ahead` (nothing when the names are not text)."""
    if not isinstance(exchange, str) or not isinstance(symbol, str):
        return []
    exchange, symbol = exchange.strip().upper(), symbol.strip().upper()
    # Names read ahead come unvalidated from a request: only plausible ones become keys.
    if exchange not in _EXCHANGES or not (0 < len(symbol) <= 64 and symbol.isascii() and symbol.isprintable()
                                          and " " not in symbol):
        return []
    return [_GENERATION_KEY, _key(exchange, symbol)]


def get_instrument(exchange: str, symbol: str, *, read_ahead: Mapping[str, Any] | None = None) -> Instrument | None:
    """The instrument `symbol` on `exchange` (OpenAlgo format, case-insensitive), or None.

    One cache round trip on a hit (none when `read_ahead` holds the entries cache_keys() names): the
    entry (generation, instrument) is read with the generation number and counts only if it was
    cached under the current generation."""
    exchange, symbol = exchange.strip().upper(), symbol.strip().upper()
    key = _key(exchange, symbol)
    if read_ahead is not None and _GENERATION_KEY in read_ahead and key in read_ahead:
        hits = read_ahead
    else:
        hits = cache.get_many([_GENERATION_KEY, key])
    generation = hits.get(_GENERATION_KEY)
    generation = _generation() if generation is None else int(generation)
    cached = hits.get(key)
    if isinstance(cached, tuple) and len(cached) == 2 and cached[0] == generation:
        return None if cached[1] == _MISSING else cached[1]
    instrument = Instrument.objects.filter(exchange=exchange, symbol=symbol).first()
    cache.set(key, (generation, instrument if instrument is not None else _MISSING), CACHE_SECONDS)
    return instrument


def search(query: str, exchange: str | None = None, limit: int = 50) -> list[Instrument]:
    """Instruments whose symbol or name contains `query`; exact and prefix symbol matches first."""
    query = query.strip()
    if not query:
        return []
    upper = query.upper()
    qs = Instrument.objects.filter(Q(symbol__icontains=query) | Q(name__icontains=query))
    if exchange:
        qs = qs.filter(exchange=exchange.strip().upper())
    rank = Case(
        When(symbol=upper, then=Value(0)),
        When(symbol__startswith=upper, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return list(qs.annotate(rank=rank).order_by("rank", "expiry", "strike", "symbol")[: max(1, min(limit, 500))])


def format_expiry(value: date) -> str:
    """OpenAlgo's expiry format: 28-NOV-24."""
    return value.strftime("%d-%b-%y").upper()


def expiries(symbol: str, exchange: str, instrument_type: str) -> list[str]:
    """Sorted expiries of `symbol`'s futures or options on `exchange`, formatted like 28-NOV-24.

    `instrument_type` is "futures" or "options" (OpenAlgo's words) or FUT / CE / PE.
    """
    types = EXPIRY_TYPES.get(instrument_type.strip().lower())
    if types is None:
        raise ValueError(f"instrument_type must be futures or options, not {instrument_type!r}.")
    dates = (
        Instrument.objects.filter(underlying=symbol.strip().upper(), exchange=exchange.strip().upper(),
                                  instrument_type__in=types, expiry__isnull=False)
        .order_by("expiry").values_list("expiry", flat=True).distinct()
    )
    return [format_expiry(d) for d in dates]
