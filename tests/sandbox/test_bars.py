"""Bars built from the price store's ticks, and every interval aggregated from them on read
(SQLite here, PostgreSQL when DATABASE_URL points at it: the same tests)."""
from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal as D

import pytest
from django.db import connection

from marketdata.models import Bar, StoredInterval
from marketdata.services import history as bars
from marketdata.services import ticks
from sandbox.services import feeds
from sandbox.services.prices import set_price
from tests.sandbox.factories import TRADING_DAY, ist

pytestmark = pytest.mark.django_db
YESTERDAY = TRADING_DAY - dt.timedelta(days=1)


def tick(hour: int, minute: int, price, *, second: int = 0, day: dt.date = TRADING_DAY, volume=None, **quote):
    at = ist(hour, minute, day) + dt.timedelta(seconds=second)
    return set_price("NSE", "SBIN", price, at=at, volume=volume, match=False, **quote)


def rows(interval: str, day: dt.date = TRADING_DAY, end: dt.date | None = None) -> list[tuple]:
    return [(c.timestamp, c.open, c.high, c.low, c.close, c.volume)
            for c in bars.history("NSE", "SBIN", interval, day, end or day)]


def test_it_builds_one_minute_bars_from_ticks(sbin):
    tick(9, 15, "800", second=1, volume=100)
    tick(9, 15, "803.5", second=20, volume=150)
    tick(9, 15, "799", second=40, volume=180)
    tick(9, 15, "801", second=59, volume=200)
    tick(9, 16, "802", second=5, volume=260)
    assert [(b.timestamp, b.open, b.high, b.low, b.close, b.volume)
            for b in Bar.objects.order_by("timestamp")] == [
        (ist(9, 15), D("800"), D("803.5"), D("799"), D("801"), 200),  # the day's volume grew by 200 in the minute
        (ist(9, 16), D("802"), D("802"), D("802"), D("802"), 60),
    ]
    assert set(Bar.objects.values_list("exchange", "symbol", "interval")) == {("NSE", "SBIN", "1m")}


def test_a_replayed_bar_keeps_its_open_high_and_low(sbin, tmp_path):
    path = tmp_path / "bars.csv"
    path.write_text("timestamp,exchange,symbol,open,high,low,close,volume\n"
                    "2026-11-25T09:15:00,NSE,SBIN,800,806,797,804,1000\n"
                    "2026-11-25T09:16:00,NSE,SBIN,804,805,801,802,700\n")
    list(feeds.replay(feeds.read_replay(path)))
    assert rows("1m") == [(ist(9, 15), D("800"), D("806"), D("797"), D("804"), 1000),
                          (ist(9, 16), D("804"), D("805"), D("801"), D("802"), 700)]


def _a_morning():
    for minute, price, volume in [(15, "100", 10), (16, "104", 30), (29, "98", 35), (30, "101", 50), (44, "103", 60),
                                  (59, "99", 70), (60 + 14, "107", 100), (60 + 15, "106", 120)]:
        tick(9 + minute // 60, minute % 60, price, volume=volume)


@pytest.mark.parametrize(("interval", "expected"), [
    ("5m", [((9, 15), "100", "104", "100", "104", 30), ((9, 25), "98", "98", "98", "98", 5),
            ((9, 30), "101", "101", "101", "101", 15), ((9, 40), "103", "103", "103", "103", 10),
            ((9, 55), "99", "99", "99", "99", 10), ((10, 10), "107", "107", "107", "107", 30),
            ((10, 15), "106", "106", "106", "106", 20)]),
    ("15m", [((9, 15), "100", "104", "98", "98", 35), ((9, 30), "101", "103", "101", "103", 25),
             ((9, 45), "99", "99", "99", "99", 10), ((10, 0), "107", "107", "107", "107", 30),
             ((10, 15), "106", "106", "106", "106", 20)]),
    # NSE's hours start at the 09:15 open, as OpenAlgo and the brokers cut them.
    ("1h", [((9, 15), "100", "107", "98", "107", 100), ((10, 15), "106", "106", "106", "106", 20)]),
])
def test_it_aggregates_intraday_intervals_from_the_session_open(sbin, interval, expected):
    _a_morning()
    assert rows(interval) == [(ist(h, m), D(o), D(hi), D(lo), D(c), v) for (h, m), o, hi, lo, c, v in expected]


def test_minutes_before_the_open_form_their_own_buckets(sbin):
    tick(8, 59, "90", volume=5)  # the round-the-clock simulator writes outside the session too
    tick(9, 14, "91", volume=7)
    tick(9, 15, "92", volume=9)
    assert [(c[0], c[4]) for c in rows("15m")] == [(ist(8, 45), D("90")), (ist(9, 0), D("91")), (ist(9, 15), D("92"))]
    assert [(c[0], c[1], c[4]) for c in rows("1h")] == [(ist(8, 15), D("90"), D("91")), (ist(9, 15), D("92"), D("92"))]


def test_daily_bars_are_the_exchanges_local_days(sbin):
    # 00:10 IST is the previous day in UTC: the bar belongs to the exchange's date, not UTC's.
    tick(0, 10, "95", day=YESTERDAY, volume=10)
    tick(15, 29, "97", day=YESTERDAY, volume=40)
    tick(0, 5, "98", volume=5)
    tick(9, 15, "100", volume=25)
    tick(15, 29, "99", volume=45)
    utc_midnight = dt.time(0, 0, tzinfo=dt.UTC)
    assert rows("D", YESTERDAY, TRADING_DAY) == [
        (dt.datetime.combine(YESTERDAY, utc_midnight), D("95"), D("97"), D("95"), D("97"), 40),
        (dt.datetime.combine(TRADING_DAY, utc_midnight), D("98"), D("100"), D("98"), D("99"), 45),
    ]
    assert rows("D", TRADING_DAY) == rows("D", YESTERDAY, TRADING_DAY)[1:]  # the range is in local dates too


def test_an_imported_daily_bar_stands_for_its_date(sbin):
    Bar.objects.create(exchange="NSE", symbol="SBIN", interval=StoredInterval.DAY,
                       timestamp=ist(0, 0, YESTERDAY), open=D("90"), high=D("96"), low=D("89"), close=D("95"),
                       volume=12345)
    tick(9, 15, "100", volume=25)
    assert [(c[0].date(), c[4], c[5]) for c in rows("D", YESTERDAY, TRADING_DAY)] == [
        (YESTERDAY, D("95"), 12345), (TRADING_DAY, D("100"), 25)]


def test_weeks_and_months_fold_the_daily_bars(sbin):
    # Mon 2026-11-23 .. Wed 11-25 (the tests' trading day), then Tue 12-01: two weeks, two months.
    for day, price, volume in [(dt.date(2026, 11, 23), "100", 10), (dt.date(2026, 11, 24), "104", 30),
                               (TRADING_DAY, "98", 35), (dt.date(2026, 12, 1), "101", 50)]:
        tick(9, 15, price, day=day, volume=volume)
        tick(15, 29, str(D(price) + 1), day=day, volume=volume + 5)
    utc = dt.UTC
    assert rows("W", dt.date(2026, 11, 23), dt.date(2026, 12, 1)) == [
        (dt.datetime(2026, 11, 23, tzinfo=utc), D("100"), D("105"), D("98"), D("99"), 90),
        (dt.datetime(2026, 11, 30, tzinfo=utc), D("101"), D("102"), D("101"), D("102"), 55),
    ]
    assert [(c[0], c[1], c[4]) for c in rows("M", dt.date(2026, 11, 1), dt.date(2026, 12, 31))] == [
        (dt.datetime(2026, 11, 1, tzinfo=utc), D("100"), D("99")),
        (dt.datetime(2026, 12, 1, tzinfo=utc), D("101"), D("102")),
    ]


def test_it_refuses_an_interval_it_does_not_aggregate(sbin):
    with pytest.raises(bars.HistoryError, match="2m"):
        bars.history("NSE", "SBIN", "2m", TRADING_DAY, TRADING_DAY)


def test_a_new_day_takes_prev_close_from_the_bars(sandbox):
    Bar.objects.create(exchange="NSE", symbol="SBIN", interval=StoredInterval.MINUTE, timestamp=ist(15, 29, YESTERDAY),
                       open=D("801"), high=D("802"), low=D("800"), close=D("801.5"))
    tick(9, 15, "805", volume=100)  # the first price the store ever sees for SBIN
    tick(9, 20, "809")
    tick(9, 25, "803")
    quote = sandbox.adapter.quotes("NSE", "SBIN")
    assert (quote.open, quote.high, quote.low, quote.ltp, quote.prev_close) == (
        D("805"), D("809"), D("803"), D("803"), D("801.5"))


def test_with_no_bars_a_new_day_keeps_the_last_price_as_prev_close(sbin):
    tick(15, 29, "801", day=YESTERDAY)
    Bar.objects.all().delete()
    assert tick(9, 15, "805").prev_close == D("801")


def _in_threads(work, chunks) -> None:
    def run(chunk):
        try:
            work(chunk)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(chunk,)) for chunk in chunks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


PRICES = [D("800") + D(i) / 4 - 10 for i in range(80)]  # 790 .. 809.75, in 8 interleaved chunks


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_upsert_loses_nothing_under_concurrent_writers(sbin):
    # Straight at the statement, with no row lock around it: 8 threads, 80 ticks, one minute.
    def work(chunk):
        for n, price in enumerate(chunk):
            ticks.record_tick("NSE", "SBIN", ist(9, 15) + dt.timedelta(seconds=n), price, volume=3)

    _in_threads(work, [PRICES[i::8] for i in range(8)])
    bar = Bar.objects.get()
    assert (bar.high, bar.low, bar.volume) == (max(PRICES), min(PRICES), 240)
    assert bar.open in PRICES
    assert bar.close in PRICES


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_prices_build_one_correct_bar(sbin):
    tick(9, 15, "800", volume=0)

    def work(chunk):
        for n, price in enumerate(chunk):
            set_price("NSE", "SBIN", price, at=ist(9, 15) + dt.timedelta(seconds=1 + n), match=False)

    _in_threads(work, [PRICES[i::8] for i in range(8)])
    bar = Bar.objects.get()
    assert (bar.open, bar.high, bar.low) == (D("800"), max(PRICES), min(PRICES))


def test_with_no_stored_bars_the_users_live_account_answers_history(sandbox, monkeypatch):
    from brokers.adapters.base import Candle
    from brokers.adapters.openalgo import OpenAlgoAdapter
    from tests.brokers.factories import TradingAccountFactory

    TradingAccountFactory(user=sandbox.user, is_primary=True)
    asked = []
    upstream = [Candle(ist(9, 15), D("800"), D("801"), D("799"), D("800.5"), 10)]

    def live_history(adapter, exchange, symbol, interval, start, end):
        asked.append((exchange, symbol, interval, start, end))
        return upstream

    monkeypatch.setattr(OpenAlgoAdapter, "history", live_history)
    day = TRADING_DAY.isoformat()
    assert sandbox.adapter.history("NSE", "SBIN", "5m", day, day) == upstream
    assert asked == [("NSE", "SBIN", "5m", day, day)]
    tick(9, 15, "805")  # once the store has bars for the range, they answer
    assert [c.close for c in sandbox.adapter.history("NSE", "SBIN", "5m", day, day)] == [D("805")]
    assert len(asked) == 1
