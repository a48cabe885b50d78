"""Importing the instrument master from CSV: validate every row, then upsert in one transaction.

Rows that fail validation are reported with their line numbers and skipped; the rest are written
with bulk upserts (INSERT ... ON CONFLICT (exchange, symbol) DO UPDATE on SQLite and PostgreSQL).
Rows identical to what is stored are not written at all, so re-importing an unchanged file is cheap.
"""
from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.db import transaction

from brokers.adapters.registry import broker_names
from brokers.models import BrokerToken, Exchange, Instrument, InstrumentType
from brokers.services.instruments import invalidate_cache

REQUIRED_COLUMNS = ("exchange", "symbol", "instrument_type", "lot_size", "tick_size")
OPTIONAL_COLUMNS = ("name", "underlying", "expiry", "strike", "freeze_qty")
TOKEN_COLUMNS = ("token", "broker_symbol", "broker_exchange")
# Frozen once: TextChoices.values rebuilds its list on every access, and this runs per row.
EXCHANGES = frozenset(Exchange.values)
INSTRUMENT_TYPES = frozenset(InstrumentType.values)
DERIVATIVES = {InstrumentType.FUT, InstrumentType.CE, InstrumentType.PE}
OPTIONS = {InstrumentType.CE, InstrumentType.PE}
INSTRUMENT_FIELDS = ("name", "underlying", "instrument_type", "expiry", "strike", "lot_size", "tick_size",
                     "freeze_qty")
_SYMBOL = re.compile(r"^[A-Z0-9&_.\-]+$")


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (missing, unreadable, wrong columns)."""


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(slots=True)
class ParsedRow:
    line: int
    exchange: str
    symbol: str
    values: dict[str, Any]
    token: dict[str, str] | None = None


@dataclass
class ImportSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    kept: int = 0  # differed from the file but left alone (update_existing=False)
    tokens: int = 0  # broker tokens written (new or changed)
    errors: list[RowError] = field(default_factory=list)

    def line(self) -> str:
        text = (f"created {self.created}, updated {self.updated}, unchanged {self.unchanged}, "
                f"skipped {self.skipped}")
        if self.kept:
            text += f", kept {self.kept} as imported earlier"
        return text + (f", broker tokens written {self.tokens}" if self.tokens else "")


def parse_expiry(text: str) -> date:
    if len(text) == 10 and text[4] == "-":
        try:
            return date.fromisoformat(text)  # the common case, far cheaper than strptime
        except ValueError:
            pass
    for fmt in ("%d-%b-%y", "%d-%b-%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"expiry {text!r} is not YYYY-MM-DD or DD-MMM-YY")


def _decimal(text: str, name: str, *, positive: bool = True) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{name} {text!r} is not a number") from None
    if not value.is_finite() or (positive and value <= 0):
        raise ValueError(f"{name} must be a positive number, not {text!r}")
    return value


def _positive_int(text: str, name: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{name} {text!r} is not a whole number") from None
    if value < 1:
        raise ValueError(f"{name} must be at least 1, not {value}")
    return value


def _underlying(symbol: str, expiry: date | None) -> str:
    # OpenAlgo derivative symbols are the underlying, then the expiry: NIFTY29DEC26FUT, 360ONE29DEC261200CE.
    if expiry is None:
        return ""
    at = symbol.find(expiry.strftime("%d%b%y").upper())
    return symbol[:at] if at > 0 else ""


def _parse_row(raw: dict[str, str], line: int, broker: str | None) -> ParsedRow:
    """One CSV row to model values; raises ValueError naming the field and the problem."""
    row = {k: (v or "").strip() for k, v in raw.items() if k}
    exchange, symbol = row.get("exchange", "").upper(), row.get("symbol", "").upper()
    if exchange not in EXCHANGES:
        raise ValueError(f"exchange {exchange!r} is not one of {', '.join(Exchange.values)}")
    if not symbol or len(symbol) > 64 or not _SYMBOL.match(symbol):
        raise ValueError(f"symbol {row.get('symbol', '')!r} is empty, too long or has invalid characters")
    kind = row.get("instrument_type", "").upper()
    if kind not in INSTRUMENT_TYPES:
        raise ValueError(f"instrument_type {kind!r} is not one of {', '.join(InstrumentType.values)}")
    expiry = parse_expiry(row["expiry"]) if row.get("expiry") else None
    if kind in DERIVATIVES and expiry is None:
        raise ValueError(f"expiry is required for instrument_type {kind}")
    strike = _decimal(row["strike"], "strike") if row.get("strike") else None
    if kind in OPTIONS and strike is None:
        raise ValueError(f"strike is required for instrument_type {kind}")
    if kind not in OPTIONS and strike is not None:
        raise ValueError(f"strike must be empty for instrument_type {kind}")
    name = row.get("name", "")[:128]
    underlying = row.get("underlying", "").upper()
    if not underlying:
        underlying = _underlying(symbol, expiry) if kind in DERIVATIVES else symbol
        underlying = underlying or name.upper() or symbol
    values = {
        "name": name, "underlying": underlying[:64], "instrument_type": kind, "expiry": expiry, "strike": strike,
        "lot_size": _positive_int(row.get("lot_size", ""), "lot_size"),
        "tick_size": _decimal(row.get("tick_size", ""), "tick_size"),
        "freeze_qty": _positive_int(row["freeze_qty"], "freeze_qty") if row.get("freeze_qty") else None,
    }
    token = None
    if broker:
        if not row.get("token"):
            raise ValueError("token is required with --broker")
        token = {"token": row["token"][:64], "broker_symbol": row.get("broker_symbol", "")[:64] or symbol,
                 "broker_exchange": row.get("broker_exchange", "")[:16] or exchange}
    return ParsedRow(line=line, exchange=exchange, symbol=symbol, values=values, token=token)


def read_rows(lines: Iterable[str], broker: str | None = None) -> tuple[list[ParsedRow], list[RowError]]:
    """Validate every row; return the good rows and the errors (with 1-based line numbers)."""
    reader = csv.DictReader(lines)
    header = [c.strip().lower() for c in reader.fieldnames or []]
    missing = [c for c in REQUIRED_COLUMNS + (("token",) if broker else ()) if c not in header]
    if missing:
        raise ImportFileError(f"missing column(s): {', '.join(missing)} (header: {', '.join(header) or 'none'})")
    reader.fieldnames = header
    rows: list[ParsedRow] = []
    errors: list[RowError] = []
    seen: dict[tuple[str, str], int] = {}
    for raw in reader:
        line = reader.line_num
        if not any((v or "").strip() for k, v in raw.items() if k):
            continue  # blank line
        if None in raw:
            errors.append(RowError(line, f"{len(raw[None])} value(s) more than the header has columns"))
            continue
        try:
            parsed = _parse_row(raw, line, broker)
        except ValueError as exc:
            errors.append(RowError(line, str(exc)))
            continue
        key = (parsed.exchange, parsed.symbol)
        if key in seen:
            errors.append(RowError(line, f"{key[0]}:{key[1]} already appears on line {seen[key]}"))
            continue
        seen[key] = line
        rows.append(parsed)
    return rows, errors


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _existing(rows: list[ParsedRow], batch_size: int) -> dict[tuple[str, str], tuple]:
    """The stored (id, *INSTRUMENT_FIELDS) of the file's instruments, by (exchange, symbol).

    Tuples, not dicts or model instances: a full master has 100k+ rows.
    """
    found: dict[tuple[str, str], tuple] = {}
    by_exchange: dict[str, list[str]] = {}
    for row in rows:
        by_exchange.setdefault(row.exchange, []).append(row.symbol)
    for exchange, symbols in by_exchange.items():
        for chunk in _chunks(symbols, batch_size):
            for symbol, *values in Instrument.objects.filter(exchange=exchange, symbol__in=chunk).values_list(
                    "symbol", "id", *INSTRUMENT_FIELDS):
                found[(exchange, symbol)] = tuple(values)
    return found


def _same(stored: tuple, new: dict[str, Any]) -> bool:
    return all(old == new[name] for old, name in zip(stored[1:], INSTRUMENT_FIELDS, strict=True))


def import_rows(rows: list[ParsedRow], *, broker: str | None = None, batch_size: int = 1000,
                update_existing: bool = True, progress: Callable[[int], None] | None = None) -> ImportSummary:
    """Upsert validated rows (and their broker tokens) in one transaction; report what changed.

    With update_existing=False, stored instruments are never changed, only missing ones added
    (seed data must not undo an operator's newer master contract).
    """
    if broker is not None and broker not in broker_names():
        raise ImportFileError(f"unknown broker {broker!r}; known: {', '.join(broker_names())}")
    if batch_size < 1:
        raise ImportFileError("batch size must be at least 1")
    summary = ImportSummary()
    with transaction.atomic():
        stored = _existing(rows, batch_size)
        changed: list[ParsedRow] = []
        for row in rows:
            current = stored.get((row.exchange, row.symbol))
            if current is None:
                summary.created += 1
            elif _same(current, row.values):
                summary.unchanged += 1
                continue
            elif not update_existing:
                summary.kept += 1
                continue
            else:
                summary.updated += 1
            changed.append(row)
        if progress and summary.unchanged + summary.kept:
            progress(summary.unchanged + summary.kept)
        for chunk in _chunks(changed, batch_size):
            # Model instances are built per batch: a full master would otherwise hold 100k+ of them.
            objects = [Instrument(exchange=row.exchange, symbol=row.symbol, **row.values) for row in chunk]
            Instrument.objects.bulk_create(objects, update_conflicts=True, unique_fields=["exchange", "symbol"],
                                           update_fields=[*INSTRUMENT_FIELDS, "updated_at"])
            if progress:
                progress(len(chunk))
        if broker:
            summary.tokens = _upsert_tokens(rows, stored, broker, batch_size, progress)
        if changed or summary.tokens:
            transaction.on_commit(invalidate_cache)
    return summary


def _upsert_tokens(rows: list[ParsedRow], stored: dict[tuple[str, str], tuple], broker: str,
                   batch_size: int, progress: Callable[[int], None] | None) -> int:
    """Write the broker's tokens that are new or changed; return how many were written."""
    ids = {key: values[0] for key, values in stored.items()}
    created = [row for row in rows if (row.exchange, row.symbol) not in ids]
    ids.update({key: values[0] for key, values in _existing(created, batch_size).items()})
    current: dict[int, tuple[str, str, str]] = {}
    for chunk in _chunks(sorted(ids.values()), batch_size):
        for instrument_id, *values in BrokerToken.objects.filter(broker=broker, instrument_id__in=chunk).values_list(
                "instrument_id", "token", "broker_symbol", "broker_exchange"):
            current[instrument_id] = tuple(values)
    tokens: list[tuple[int, dict[str, str]]] = []
    for row in rows:
        instrument_id = ids[(row.exchange, row.symbol)]
        if row.token and current.get(instrument_id) != (row.token["token"], row.token["broker_symbol"],
                                                        row.token["broker_exchange"]):
            tokens.append((instrument_id, row.token))
    if progress and len(rows) > len(tokens):
        progress(len(rows) - len(tokens))
    for chunk in _chunks(tokens, batch_size):
        objects = [BrokerToken(instrument_id=instrument_id, broker=broker, **token) for instrument_id, token in chunk]
        BrokerToken.objects.bulk_create(objects, update_conflicts=True, unique_fields=["broker", "instrument"],
                                        update_fields=["token", "broker_symbol", "broker_exchange"])
        if progress:
            progress(len(chunk))
    return len(tokens)


def open_csv(path: str | Path) -> Iterator[str]:
    """The file's lines, as text (UTF-8, a BOM tolerated); ImportFileError if it cannot be read."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            yield from handle
    except OSError as exc:
        raise ImportFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{path} is not UTF-8 text: {exc}") from exc
