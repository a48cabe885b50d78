"""The write side of bars built from ticks: every price the sandbox stores lands in its 1-minute bar.

One INSERT ... ON CONFLICT DO UPDATE per tick: the row is created by the minute's first tick and
widened by the others in the same statement, so concurrent writers (the simulator, a replay,
`prices set`, live quotes, in several processes) never lose one another's high, low or volume, and
no read-then-write round trip is spent on the hot path. Django's bulk_create(update_conflicts=True)
can only copy the new values over the old ones; keeping the higher high and adding the volumes
needs this one hand-written statement (same text on PostgreSQL and SQLite, apart from GREATEST/MAX).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import connection

from marketdata.models import Bar, StoredInterval

_COLUMNS = ("symbol", "exchange", "interval", "timestamp", "open", "high", "low", "close", "volume", "oi")
_KEY = ("symbol", "exchange", "interval", "timestamp")


def minute_of(at: dt.datetime) -> dt.datetime:
    """The start of the minute `at` falls in, in UTC."""
    return at.astimezone(dt.UTC).replace(second=0, microsecond=0)


def _upsert_sql() -> str:
    q = connection.ops.quote_name
    table = q(Bar._meta.db_table)
    greatest, least = ("GREATEST", "LEAST") if connection.vendor == "postgresql" else ("MAX", "MIN")
    # Names come from the model, quoted; values are bound parameters.
    return (
        f"INSERT INTO {table} ({', '.join(q(c) for c in _COLUMNS)}) VALUES ({', '.join(['%s'] * len(_COLUMNS))}) "  # noqa: S608
        f"ON CONFLICT ({', '.join(q(c) for c in _KEY)}) DO UPDATE SET "
        f"{q('high')} = {greatest}({table}.{q('high')}, EXCLUDED.{q('high')}), "
        f"{q('low')} = {least}({table}.{q('low')}, EXCLUDED.{q('low')}), "
        f"{q('close')} = EXCLUDED.{q('close')}, "
        f"{q('volume')} = {table}.{q('volume')} + EXCLUDED.{q('volume')}, "
        f"{q('oi')} = EXCLUDED.{q('oi')}"
    )


def record_tick(exchange: str, symbol: str, at: dt.datetime, price: Decimal, *, open: Decimal | None = None,
                high: Decimal | None = None, low: Decimal | None = None, volume: int = 0, oi: int = 0) -> None:
    """Fold one price into its instrument's 1-minute bar. `volume` is what traded since the previous
    tick (not the day's total); open/high/low, when a feed gives a bar, widen the bar beyond `price`.
    A tick that opens the minute sets the bar's open; later ones move its close."""
    values = {
        "symbol": symbol, "exchange": exchange, "interval": StoredInterval.MINUTE, "timestamp": minute_of(at),
        "open": open or price, "high": max(high or price, price), "low": min(low or price, price), "close": price,
        "volume": max(int(volume), 0), "oi": max(int(oi), 0),
    }
    # The fields adapt the values exactly as the ORM would (SQLite keeps naive UTC text, decimals as text).
    params = [Bar._meta.get_field(c).get_db_prep_save(values[c], connection) for c in _COLUMNS]
    with connection.cursor() as cursor:
        cursor.execute(_upsert_sql(), params)
