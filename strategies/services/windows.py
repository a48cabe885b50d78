"""When a strategy may trade: entries between start_time and end_time, exits until squareoff_time, on the
strategy's trading days when its exchange trades (not on the exchange's holidays).

Times are the exchange's local time (its trading-hours template's zone), so a strategy on NSE says 09:15
and means Asia/Kolkata whatever the server's zone. The exchange calendar's day plans are cached: a check
costs no query once the day is cached.
"""
from __future__ import annotations

import datetime as dt

from django.utils import timezone

from strategies.models import Strategy
from trading.models import Weekday
from trading.services import calendar


def local_time(strategy: Strategy, at: dt.datetime) -> dt.datetime:
    """`at` in the time zone of the strategy's exchange."""
    return at.astimezone(calendar.trading_day_start(strategy.exchange, at).tzinfo)


def refusal(strategy: Strategy, *, entry: bool, at: dt.datetime | None = None) -> str | None:
    """None when an entry (or an exit) of the strategy may be placed at `at` (default now), else why not."""
    at = at or timezone.now()
    local = local_time(strategy, at)
    day, now = local.date(), local.time()
    zone = local.tzname()
    if day.weekday() not in (strategy.trading_days or []):
        return f"{Weekday(day.weekday()).label} is not one of the strategy's trading days."
    try:
        session = calendar.session_window(strategy.exchange, day)
    except ValueError as exc:  # no trading-hours template lists the exchange
        return str(exc)
    if session is None:
        reason = calendar.market_status(strategy.exchange, at).reason
        return f"{strategy.exchange} does not trade on {day:%Y-%m-%d}: {reason}."
    if entry and now < strategy.start_time:
        return f"Entries open at {strategy.start_time:%H:%M} {zone} (start_time); it is {now:%H:%M}."
    if entry and now >= strategy.end_time:
        return f"Entries closed at {strategy.end_time:%H:%M} {zone} (end_time); it is {now:%H:%M}."
    if not entry and now >= strategy.squareoff_time:
        return f"Exits closed at the square-off time {strategy.squareoff_time:%H:%M} {zone}; it is {now:%H:%M}."
    return None
