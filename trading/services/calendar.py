"""The market calendar as plain functions: is an exchange open, when does it open, which days are holidays.

Every answer is built from a per-exchange, per-date "day plan" (the windows in which the exchange
trades that day, and why it does not outside them). Day plans live in the shared Django cache, so
the order pipeline's check costs no database query once a day's plan is cached. All cache keys carry
a generation token; saving or deleting any calendar row drops the token (see the signal receivers in
trading/models/calendar.py), which orphans every cached plan at once: a timetable change touches
every date, so there is no narrower key to delete.
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.db import models, transaction
from django.utils import timezone

from trading.models.calendar import (
    HolidayType,
    MarketHoliday,
    MarketHolidayExchange,
    TradingHoursTemplate,
    TradingSession,
    Weekday,
)

__all__ = [
    "MarketState",
    "MarketStatus",
    "check_market_open",
    "holidays",
    "invalidate_cache",
    "is_open",
    "market_status",
    "next_open",
    "session_window",
    "timings",
    "trading_day_start",
]

#: Index and derived symbols trade on the hours of their parent exchange.
DERIVED_EXCHANGES = {"NSE_INDEX": "NSE", "BSE_INDEX": "BSE", "MCX_INDEX": "MCX"}
ALWAYS_OPEN = frozenset({"CRYPTO"})
#: Display order of timings(); exchanges not listed follow alphabetically.
EXCHANGE_ORDER = ("NSE", "BSE", "NFO", "BFO", "CDS", "BCD", "MCX", "NCDEX")

CACHE_SECONDS = 6 * 60 * 60  # bounds the damage of a plan cached from data a concurrent edit replaced
_GENERATION_KEY = "trading:calendar:generation"
_SEARCH_DAYS = 400  # next_open gives up after this: no exchange closes for more than a year


class MarketState(models.TextChoices):
    PRE_OPEN = "PRE_OPEN", "Pre-open"
    OPEN = "OPEN", "Open"
    CLOSED = "CLOSED", "Closed"
    POST_CLOSE = "POST_CLOSE", "Post-close"


#: States in which the exchange accepts orders (pre-open order entry and the normal market).
ORDER_STATES = frozenset({MarketState.PRE_OPEN, MarketState.OPEN})


@dataclass(frozen=True)
class MarketStatus:
    """An exchange's state at one instant; opens_at/closes_at bound the current or next OPEN window."""

    exchange: str
    state: MarketState
    reason: str
    opens_at: dt.datetime | None
    closes_at: dt.datetime | None

    @property
    def is_open(self) -> bool:
        return self.state == MarketState.OPEN


# A day plan, cached as plain tuples so pickles survive code changes:
# (windows: ((state, start, end), ...) sorted by start, closed_reason, holiday_open_reason).
# closed_reason is set on weekends and holidays; holiday_open_reason labels a holiday's own windows.
_Plan = tuple[tuple[tuple[str, dt.time, dt.time], ...], str | None, str | None]


# --- cache -------------------------------------------------------------------------------------------

def invalidate_cache() -> None:
    """Drop every cached calendar answer, now and again once the current transaction commits.

    The second drop clears a plan another process may have cached from the old rows between this
    save and its commit.
    """
    cache.delete(_GENERATION_KEY)
    transaction.on_commit(lambda: cache.delete(_GENERATION_KEY))


def _generation() -> tuple[str, dict[str, tuple[int, str]]]:
    """The current token and the exchange index {code: (template id, time zone)}."""
    record = cache.get(_GENERATION_KEY)
    if record is None:
        index: dict[str, tuple[int, str]] = {}
        for template in TradingHoursTemplate.objects.filter(is_active=True).order_by("id"):
            for code in template.exchanges:
                index.setdefault(code.upper(), (template.pk, template.time_zone))
        record = (uuid.uuid4().hex, index)
        if not cache.add(_GENERATION_KEY, record, timeout=None):
            record = cache.get(_GENERATION_KEY) or record  # another process won the race: share its token
    return record


def _cached_plan(code: str, token: str, template_id: int, day: dt.date) -> _Plan:
    key = f"trading:calendar:{token}:day:{code}:{day.isoformat()}"
    plan = cache.get(key)
    if plan is None:
        plan = _build_plan(code, template_id, day)
        cache.set(key, plan, CACHE_SECONDS)
    return plan


def _hhmm(value: dt.time) -> str:
    return value.strftime("%H:%M")


def _build_plan(code: str, template_id: int, day: dt.date) -> _Plan:
    override = (
        MarketHolidayExchange.objects.filter(holiday__date=day, exchange=code).select_related("holiday").first()
    )
    if override is not None:
        holiday = override.holiday
        kind = HolidayType(holiday.holiday_type)
        if not override.is_open:
            what = f"no session on {code}" if kind == HolidayType.SPECIAL_SESSION else kind.label.lower()
            return (), f"{holiday.description} ({what})", None
        hours = f"{_hhmm(override.start_time)}-{_hhmm(override.end_time)}"
        window = ((MarketState.OPEN.value, override.start_time, override.end_time),)
        if kind == HolidayType.SPECIAL_SESSION:
            return window, f"{holiday.description}: special session {hours} only", holiday.description
        label = f"{holiday.description} ({kind.label.lower()})"
        return window, f"{label}: {code} trades {hours} only", f"{label}: {code} session {hours}"

    session = TradingSession.objects.filter(template_id=template_id, weekday=day.weekday()).first()
    if session is None or not session.is_trading_day:
        reason = "Weekend" if day.weekday() >= Weekday.SATURDAY else f"No session on {Weekday(day.weekday()).label}"
        return (), reason, None
    windows = []
    if session.pre_market_start and session.pre_market_end:
        windows.append((MarketState.PRE_OPEN.value, session.pre_market_start, session.pre_market_end))
    windows.append((MarketState.OPEN.value, session.market_open, session.market_close))
    if session.post_market_start and session.post_market_end:
        windows.append((MarketState.POST_CLOSE.value, session.post_market_start, session.post_market_end))
    return tuple(windows), None, None


# --- answers -----------------------------------------------------------------------------------------

def _aware(at: dt.datetime | None) -> dt.datetime:
    if at is None:
        return timezone.now()
    if timezone.is_naive(at):
        raise ValueError("at must be a timezone-aware datetime.")
    return at


def _gap_reason(windows, local: dt.time, tz_name: str) -> str:
    """Why a normal trading day is not in session at `local` (between or around its windows)."""
    regular = next((w for w in windows if w[0] == MarketState.OPEN), None)
    opens, closes = _hhmm(regular[1]), _hhmm(regular[2])
    if local < windows[0][1]:
        return f"Before market open {opens} {tz_name}"
    if local < regular[1]:
        return f"Pre-open order matching; market opens {opens} {tz_name}"
    return f"After market close {closes} {tz_name}"


_WINDOW_REASONS = {
    MarketState.PRE_OPEN: "Pre-open session",
    MarketState.OPEN: "Normal market",
    MarketState.POST_CLOSE: "Post-closing session",
}


@dataclass
class _Exchange:
    """One exchange's calendar for the length of one call: resolved once, each day's plan fetched once."""

    code: str
    token: str
    template_id: int
    zone: ZoneInfo
    plans: dict[dt.date, _Plan] = field(default_factory=dict)

    @classmethod
    def resolve(cls, exchange: str) -> _Exchange:
        """ValueError naming the exchange if no active template lists it (or its parent)."""
        code = DERIVED_EXCHANGES.get(exchange.upper(), exchange.upper())
        token, index = _generation()
        if code not in index:
            raise ValueError(f"Unknown exchange {exchange!r}: no active trading-hours template lists it.")
        template_id, zone = index[code]
        return cls(code, token, template_id, ZoneInfo(zone))

    def plan(self, day: dt.date) -> _Plan:
        if day not in self.plans:
            self.plans[day] = _cached_plan(self.code, self.token, self.template_id, day)
        return self.plans[day]

    def open_windows(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        return [
            (dt.datetime.combine(day, start, self.zone), dt.datetime.combine(day, end, self.zone))
            for state, start, end in self.plan(day)[0]
            if state == MarketState.OPEN
        ]

    def next_window(self, at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        """The first OPEN window that contains `at` or starts after it."""
        first_day = at.astimezone(self.zone).date()
        for offset in range(_SEARCH_DAYS):
            for start, end in self.open_windows(first_day + dt.timedelta(days=offset)):
                if end > at:
                    return start, end
        raise ValueError(f"{self.code} has no trading session in the next {_SEARCH_DAYS} days.")

    def state(self, at: dt.datetime) -> tuple[MarketState, str]:
        local = at.astimezone(self.zone)
        tz_name = local.tzname() or str(self.zone)
        windows, closed_reason, holiday_open_reason = self.plan(local.date())
        for window_state, start, end in windows:
            if start <= local.time() < end:
                state = MarketState(window_state)
                return state, holiday_open_reason or f"{_WINDOW_REASONS[state]} {_hhmm(start)}-{_hhmm(end)} {tz_name}"
        # Only a normal trading day lacks a closed_reason: say where in the day `at` falls.
        return MarketState.CLOSED, closed_reason or _gap_reason(windows, local.time(), tz_name)


def market_status(exchange: str, at: dt.datetime | None = None) -> MarketStatus:
    """The exchange's state at `at` (default now), why, and its current or next OPEN window."""
    at = _aware(at)
    if exchange.upper() in ALWAYS_OPEN:
        return MarketStatus(exchange.upper(), MarketState.OPEN, "Trades around the clock", at, None)
    calendar = _Exchange.resolve(exchange)
    state, reason = calendar.state(at)
    opens_at, closes_at = calendar.next_window(at)
    return MarketStatus(exchange.upper(), state, reason, opens_at, closes_at)


def is_open(exchange: str, at: dt.datetime | None = None) -> bool:
    """True while the exchange's normal market (or a special session) is trading."""
    return market_status(exchange, at).is_open


def next_open(exchange: str, at: dt.datetime | None = None) -> dt.datetime:
    """The first instant at or after `at` at which the exchange is OPEN (`at` itself when it is open)."""
    at = _aware(at)
    if exchange.upper() in ALWAYS_OPEN:
        return at
    start, _ = _Exchange.resolve(exchange).next_window(at)
    return max(start, at)


def session_window(exchange: str, date: dt.date) -> tuple[dt.datetime, dt.datetime] | None:
    """The (start, end) of the exchange's trading on `date` in its own time zone; None when closed.

    Pre-open and post-close are not part of it: this is when orders match continuously.
    """
    if exchange.upper() in ALWAYS_OPEN:
        zone = ZoneInfo(settings.TIME_ZONE)
        start = dt.datetime.combine(date, dt.time.min, zone)
        return start, dt.datetime.combine(date + dt.timedelta(days=1), dt.time.min, zone)
    windows = _Exchange.resolve(exchange).open_windows(date)
    if not windows:
        return None
    return windows[0][0], windows[-1][1]


def trading_day_start(exchange: str, at: dt.datetime | None = None) -> dt.datetime:
    """When the exchange's trading day that contains `at` (default now) began: midnight of its local
    date in the exchange's own time zone (from its trading-hours template; the platform's zone for an
    exchange the calendar does not know, and for those that trade around the clock). Every session of
    an exchange lies within one local date, so what was filled since then was filled "today"."""
    at = _aware(at)
    try:
        zone = ZoneInfo(settings.TIME_ZONE) if exchange.upper() in ALWAYS_OPEN else _Exchange.resolve(exchange).zone
    except ValueError:
        zone = ZoneInfo(settings.TIME_ZONE)
    return dt.datetime.combine(at.astimezone(zone).date(), dt.time.min, zone)


def _exchange_sort_key(code: str) -> tuple[int, str]:
    return (EXCHANGE_ORDER.index(code) if code in EXCHANGE_ORDER else len(EXCHANGE_ORDER), code)


def timings(date: dt.date) -> list[dict]:
    """[{exchange, start, end}] for every exchange that trades on `date`; empty when all are closed."""
    _, index = _generation()
    result = []
    for code in sorted(index, key=_exchange_sort_key):
        window = session_window(code, date)
        if window is not None:
            result.append({"exchange": code, "start": window[0], "end": window[1]})
    return result


def holidays(year: int) -> list[dict]:
    """The year's calendar entries in the shape of the market/holidays API, times as aware datetimes.

    [{date, description, holiday_type, closed_exchanges: [code], open_exchanges: [{exchange,
    start_time, end_time}]}], by date.
    """
    token, index = _generation()
    key = f"trading:calendar:{token}:holidays:{year}"
    result = cache.get(key)
    if result is not None:
        return result
    result = []
    entries = MarketHoliday.objects.filter(date__year=year).prefetch_related("exchanges").order_by("date")
    for holiday in entries:
        rows = sorted(holiday.exchanges.all(), key=lambda row: _exchange_sort_key(row.exchange))
        open_exchanges = []
        for row in rows:
            if row.is_open:
                zone = ZoneInfo(index.get(row.exchange, (None, settings.TIME_ZONE))[1])
                open_exchanges.append({
                    "exchange": row.exchange,
                    "start_time": dt.datetime.combine(holiday.date, row.start_time, zone),
                    "end_time": dt.datetime.combine(holiday.date, row.end_time, zone),
                })
        result.append({
            "date": holiday.date,
            "description": holiday.description,
            "holiday_type": holiday.holiday_type,
            "closed_exchanges": [row.exchange for row in rows if not row.is_open],
            "open_exchanges": open_exchanges,
        })
    cache.set(key, result, CACHE_SECONDS)
    return result


def check_market_open(exchange: str, at: dt.datetime | None = None) -> str | None:
    """The order pipeline's hook: None when an order may go to the exchange now, else why not.

    Orders are accepted in pre-open order entry and in the normal market. An exchange the calendar
    does not know is refused (fail closed) rather than raising in the order path. Honours
    settings.ENFORCE_MARKET_HOURS (off: always None). No database query once the day is cached.
    """
    if not settings.ENFORCE_MARKET_HOURS or exchange.upper() in ALWAYS_OPEN:
        return None
    at = _aware(at)
    try:
        calendar = _Exchange.resolve(exchange)
    except ValueError:
        return f"No trading hours are configured for exchange {exchange!r}"
    state, reason = calendar.state(at)
    if state in ORDER_STATES:
        return None
    opens, _ = calendar.next_window(at)
    return f"{calendar.code} is closed: {reason}; opens {opens:%Y-%m-%d %H:%M} {opens.tzname()}"
