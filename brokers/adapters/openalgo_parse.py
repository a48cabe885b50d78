"""Reading OpenAlgo's JSON: exact Decimals from strings or numbers, order statuses, timestamps.

Malformed values raise BrokerUnavailable (the server sent something wrong; a later call may not).
"""
from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from brokers.adapters.base import ZERO, BrokerUnavailable

logger = logging.getLogger(__name__)

IST = ZoneInfo("Asia/Kolkata")

#: OpenAlgo's order_status strings -> trading.OrderStatus values.
STATUS_MAP = {
    "open": "OPEN",
    "pending": "OPEN",
    "trigger pending": "TRIGGER_PENDING",
    "trigger_pending": "TRIGGER_PENDING",
    "partially filled": "PARTIALLY_FILLED",
    "complete": "COMPLETE",
    "completed": "COMPLETE",
    "rejected": "REJECTED",
    "cancelled": "CANCELLED",
    "canceled": "CANCELLED",
}

# Brokers behind OpenAlgo format timestamps differently; all are exchange (IST) wall time.
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%d-%b-%Y %H:%M:%S", "%d-%m-%Y %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
                 "%H:%M:%S %d-%m-%Y", "%d/%m/%Y %H:%M:%S")


def dec(value: Any, name: str = "value") -> Decimal:
    """A Decimal from a JSON string or number; empty means zero. Floats go through str() to stay exact."""
    if value is None or value == "":
        return ZERO
    if isinstance(value, bool):
        raise BrokerUnavailable(f"Malformed response from the OpenAlgo server: {name} is {value!r}.")
    try:
        result = Decimal(str(value).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        raise BrokerUnavailable(f"Malformed response from the OpenAlgo server: {name} is {value!r}.") from None
    if not result.is_finite():
        raise BrokerUnavailable(f"Malformed response from the OpenAlgo server: {name} is {value!r}.")
    return result


def integer(value: Any, name: str = "value") -> int:
    return int(dec(value, name))


def order_status_value(text: Any) -> str:
    key = str(text or "").strip().lower()
    status = STATUS_MAP.get(key)
    if status is None:
        # Not final as far as we know: keep it open so it is polled again rather than dropped.
        logger.warning("Unknown OpenAlgo order_status %r; treating it as OPEN.", text)
        return "OPEN"
    return status


def timestamp(value: Any) -> datetime | None:
    """An aware datetime from epoch seconds/milliseconds or an (IST) wall-clock string."""
    if value in (None, ""):
        return None
    if isinstance(value, int | float) or (isinstance(value, str) and value.strip().isdigit()):
        number = float(value)
        if number > 1e11:  # milliseconds
            number /= 1000
        return datetime.fromtimestamp(number, tz=UTC)
    text = str(value).strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = None
        for fmt in _TIME_FORMATS:
            try:
                parsed = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if parsed is None:
        logger.warning("Unparseable OpenAlgo timestamp %r.", value)
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=IST)
