"""Where bars fall: an exchange's time zone and regular session open, read from the market calendar.

Daily bars are the exchange's calendar days in its own zone; intraday buckets start at the session
open (NSE's 1h bars are 09:15-10:15, 10:15-11:15, ... as OpenAlgo and the brokers cut them).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings

from trading.services import calendar

_SEARCH_DAYS = 10  # a week of weekends and holidays never hides every session


@dataclass(frozen=True)
class ExchangeClock:
    zone: ZoneInfo
    opens: dt.time  # the anchor of intraday buckets

    def day_start(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time.min, self.zone)

    def local_date(self, at: dt.datetime) -> dt.date:
        return at.astimezone(self.zone).date()

    @property
    def open_minute(self) -> int:
        return self.opens.hour * 60 + self.opens.minute


def exchange_clock(exchange: str, around: dt.date) -> ExchangeClock:
    """The exchange's zone and the open of its first session on or after `around`. An exchange the
    calendar does not know is placed in settings.TIME_ZONE with buckets from midnight."""
    for offset in range(_SEARCH_DAYS):
        try:
            window = calendar.session_window(exchange, around + dt.timedelta(days=offset))
        except (ValueError, OverflowError):  # no trading-hours template lists it; a date past 9999
            break
        if window is not None:
            start = window[0]
            return ExchangeClock(ZoneInfo(str(start.tzinfo)), start.time())
    return ExchangeClock(ZoneInfo(settings.TIME_ZONE), dt.time.min)
