"""Seed the market calendar: weekly timetables of the Indian exchanges and the 2025-2026 holidays.

All times are IST (Asia/Kolkata). Sources, read in November 2026:
- NSE trading holidays 2025: NSE's published list as reported by Livemint (2025-02-26) and
  Sakshi Post (2025-02-24); descriptions as NSE words them.
- NSE trading holidays 2026: NSE's list released 2025-12-12, as reported by NDTV Profit, with
  four holidays falling on a Saturday or Sunday; plus 2026-01-15 (Maharashtra municipal elections),
  declared a trading holiday by NSE circular on 2026-01-12 (DNA India, News9, Lokmat Times).
- MCX sessions on those dates (morning 09:00-17:00 / evening 17:00-23:30): MCX's holiday lists as
  tabulated by Rupeezy and Kotak Securities (2025) and CNBC Awaaz / News18 (2026, 2025-12-30).
- Muhurat trading 2025-10-21: NSE/BSE circulars as reported by Deccan Herald and Lokmat Times:
  normal market 13:45-14:45 (pre-open 13:30-13:45, not modelled); MCX and NCDEX trade 13:45-14:45.

Not found, so not invented:
- The 2026 Muhurat session (Sunday 2026-11-08, Samvat 2083): NSE's list says it will be held, but
  no source gave its timings. The date is seeded closed; an operator adds the exchange windows in
  the admin once the circular is out.
- NCDEX's and the currency segments' own holiday lists were not checked: NCDEX, CDS and BCD are
  closed on every NSE trading holiday here (their usual practice). CDS/BCD are left out of the 2025
  Muhurat session because no source confirmed currency derivatives traded in it.
- NSE's weekend holidays of 2025 and its 2026 settlement holidays: no source listed them.
"""
from __future__ import annotations

import datetime as dt

from django.db import migrations

IST = "Asia/Kolkata"


def t(value: str) -> dt.time:
    return dt.time.fromisoformat(value)


# name, exchanges, description, weekday session (pre-open, regular, post-close) as "HH:MM" pairs or None.
TEMPLATES = [
    (
        "NSE/BSE equity", ["NSE", "BSE"],
        "Capital market segment: pre-open order entry 09:00-09:08 (matching 09:08-09:15), "
        "normal market 09:15-15:30, post-closing session 15:40-16:00.",
        (("09:00", "09:08"), ("09:15", "15:30"), ("15:40", "16:00")),
    ),
    (
        "NSE/BSE F&O", ["NFO", "BFO"],
        "Equity derivatives: 09:15-15:30. No post-closing session; the futures pre-open "
        "NSE introduced in December 2025 is not modelled.",
        (None, ("09:15", "15:30"), None),
    ),
    (
        "Currency derivatives", ["CDS", "BCD"],
        "Currency futures and options on NSE (CDS) and BSE (BCD): 09:00-17:00.",
        (None, ("09:00", "17:00"), None),
    ),
    (
        "MCX commodity", ["MCX"],
        "MCX non-agricultural commodities: 09:00-23:30. MCX moves its close to 23:55 while the US is "
        "on standard time (roughly November to March); 23:30 is kept as the standard here. Agricultural "
        "contracts close at 17:00, internationally referenceable agri at 21:00/21:30.",
        (None, ("09:00", "23:30"), None),
    ),
    (
        "NCDEX commodity", ["NCDEX"],
        "NCDEX agricultural commodity derivatives: 09:00-17:00 (the few internationally "
        "referenceable contracts that trade later are not modelled).",
        (None, ("09:00", "17:00"), None),
    ),
]

EQUITY_AND_CURRENCY = ["NSE", "BSE", "NFO", "BFO", "CDS", "BCD"]
ALL_EXCHANGES = [*EQUITY_AND_CURRENCY, "MCX", "NCDEX"]
MCX_MORNING = ("09:00", "17:00")
MCX_EVENING = ("17:00", "23:30")
MUHURAT_2025 = ("13:45", "14:45")

# How MCX trades on an equity holiday, per MCX's own list: evening session only, or fully closed.
EVENING = "evening"
CLOSED = "closed"

# date, description, MCX on that date. NCDEX, CDS and BCD close with NSE, BSE, NFO and BFO.
TRADING_HOLIDAYS = [
    # 2025 (all on weekdays)
    ("2025-02-26", "Mahashivratri", EVENING),
    ("2025-03-14", "Holi", EVENING),
    ("2025-03-31", "Id-Ul-Fitr (Ramadan Eid)", EVENING),
    ("2025-04-10", "Shri Mahavir Jayanti", EVENING),
    ("2025-04-14", "Dr. Baba Saheb Ambedkar Jayanti", EVENING),
    ("2025-04-18", "Good Friday", CLOSED),
    ("2025-05-01", "Maharashtra Day", EVENING),
    ("2025-08-15", "Independence Day / Parsi New Year", CLOSED),
    ("2025-08-27", "Shri Ganesh Chaturthi", EVENING),
    ("2025-10-02", "Mahatma Gandhi Jayanti / Dussehra", CLOSED),
    ("2025-10-22", "Diwali Balipratipada", EVENING),
    ("2025-11-05", "Prakash Gurpurb Sri Guru Nanak Dev", EVENING),
    ("2025-12-25", "Christmas", CLOSED),
    # 2026 on weekdays
    ("2026-01-15", "Municipal Corporation Election in Maharashtra", EVENING),
    ("2026-01-26", "Republic Day", CLOSED),
    ("2026-03-03", "Holi", EVENING),
    ("2026-03-26", "Shri Ram Navami", EVENING),
    ("2026-03-31", "Shri Mahavir Jayanti", EVENING),
    ("2026-04-03", "Good Friday", CLOSED),
    ("2026-04-14", "Dr. Baba Saheb Ambedkar Jayanti", EVENING),
    ("2026-05-01", "Maharashtra Day", EVENING),
    ("2026-05-28", "Bakri Id", EVENING),
    ("2026-06-26", "Muharram", EVENING),
    ("2026-09-14", "Ganesh Chaturthi", EVENING),
    ("2026-10-02", "Mahatma Gandhi Jayanti", CLOSED),
    ("2026-10-20", "Dussehra", EVENING),
    ("2026-11-10", "Diwali Balipratipada", EVENING),
    ("2026-11-24", "Prakash Gurpurb Sri Guru Nanak Dev", EVENING),
    ("2026-12-25", "Christmas", CLOSED),
    # 2026 on a Saturday or Sunday: listed by NSE, closed anyway. 2026-11-08 is Diwali Laxmi Pujan,
    # with a Muhurat session whose timings we could not find (see the module docstring).
    ("2026-02-15", "Mahashivratri", CLOSED),
    ("2026-03-21", "Id-Ul-Fitr (Ramadan Eid)", CLOSED),
    ("2026-08-15", "Independence Day", CLOSED),
    ("2026-11-08", "Diwali Laxmi Pujan", CLOSED),
]

# New Year's Day: MCX trades its morning session only; the other exchanges trade normally.
MCX_MORNING_ONLY = [
    ("2025-01-01", "New Year Day"),
    ("2026-01-01", "New Year Day"),
]

# Days on which trading is normal but funds and securities do not settle (2025, from NSE's list).
SETTLEMENT_HOLIDAYS = [
    ("2025-04-01", "Annual Bank Closing"),
    ("2025-05-12", "Buddha Pournima"),
    ("2025-09-05", "Id-E-Milad"),
]

# Diwali Laxmi Pujan 2025: closed for regular trading, open for the Muhurat session only.
MUHURAT_2025_DATE = "2025-10-21"
MUHURAT_2025_EXCHANGES = ["NSE", "BSE", "NFO", "BFO", "MCX", "NCDEX"]


def _seeded_dates() -> list[dt.date]:
    rows = [*TRADING_HOLIDAYS, *MCX_MORNING_ONLY, *SETTLEMENT_HOLIDAYS, (MUHURAT_2025_DATE, "")]
    return [dt.date.fromisoformat(row[0]) for row in rows]


def seed(apps, schema_editor) -> None:
    Template = apps.get_model("trading", "TradingHoursTemplate")
    Session = apps.get_model("trading", "TradingSession")
    Holiday = apps.get_model("trading", "MarketHoliday")
    HolidayExchange = apps.get_model("trading", "MarketHolidayExchange")

    for name, exchanges, description, (pre, regular, post) in TEMPLATES:
        template = Template.objects.create(name=name, time_zone=IST, exchanges=exchanges, description=description)
        for weekday in range(7):
            trading = weekday < 5  # Monday-Friday; weekends closed
            Session.objects.create(
                template=template, weekday=weekday, is_trading_day=trading,
                pre_market_start=t(pre[0]) if trading and pre else None,
                pre_market_end=t(pre[1]) if trading and pre else None,
                market_open=t(regular[0]) if trading else None,
                market_close=t(regular[1]) if trading else None,
                post_market_start=t(post[0]) if trading and post else None,
                post_market_end=t(post[1]) if trading and post else None,
            )

    def add(date: str, description: str, holiday_type: str, closed=(), open_windows=()) -> None:
        holiday = Holiday.objects.create(
            date=dt.date.fromisoformat(date), description=description, holiday_type=holiday_type
        )
        rows = [HolidayExchange(holiday=holiday, exchange=code, is_open=False) for code in closed]
        rows += [
            HolidayExchange(holiday=holiday, exchange=code, is_open=True, start_time=t(start), end_time=t(end))
            for code, (start, end) in open_windows
        ]
        HolidayExchange.objects.bulk_create(rows)

    for date, description, mcx in TRADING_HOLIDAYS:
        closed = [*EQUITY_AND_CURRENCY, "NCDEX"] + (["MCX"] if mcx == CLOSED else [])
        evening = [("MCX", MCX_EVENING)] if mcx == EVENING else []
        add(date, description, "TRADING_HOLIDAY", closed=closed, open_windows=evening)
    for date, description in MCX_MORNING_ONLY:
        add(date, description, "TRADING_HOLIDAY", open_windows=[("MCX", MCX_MORNING)])
    for date, description in SETTLEMENT_HOLIDAYS:
        add(date, description, "SETTLEMENT_HOLIDAY")
    add(
        MUHURAT_2025_DATE, "Diwali Laxmi Pujan - Muhurat trading session", "SPECIAL_SESSION",
        closed=[code for code in ALL_EXCHANGES if code not in MUHURAT_2025_EXCHANGES],
        open_windows=[(code, MUHURAT_2025) for code in MUHURAT_2025_EXCHANGES],
    )


def unseed(apps, schema_editor) -> None:
    Template = apps.get_model("trading", "TradingHoursTemplate")
    Holiday = apps.get_model("trading", "MarketHoliday")
    # Sessions and per-exchange rows go with their parents (on_delete=CASCADE).
    Template.objects.filter(name__in=[row[0] for row in TEMPLATES]).delete()
    Holiday.objects.filter(date__in=_seeded_dates()).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("trading", "0001_calendar"),
    ]

    operations = [
        migrations.RunPython(seed, unseed),
    ]
