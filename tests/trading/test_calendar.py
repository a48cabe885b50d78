"""The market calendar service against the seeded timetables and 2025-2026 holidays.

Instants are passed explicitly with `at=`, aware, in Asia/Kolkata unless a test is about UTC.
"""
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from trading.models import HolidayType, MarketHoliday, MarketHolidayExchange, TradingSession
from trading.services import calendar
from trading.services.calendar import MarketState

pytestmark = pytest.mark.django_db

IST = ZoneInfo("Asia/Kolkata")
UTC = dt.UTC


def ist(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=IST)


# 2026-11-16 is a Monday with no holiday; 2026-11-10 (Tuesday) is Diwali Balipratipada.
MONDAY = (2026, 11, 16)


def test_it_is_closed_on_a_weekend():
    status = calendar.market_status("NSE", ist(2026, 11, 14, 11, 0))  # Saturday
    assert status.state == MarketState.CLOSED
    assert status.reason == "Weekend"
    assert status.opens_at == ist(*MONDAY, 9, 15)
    assert not calendar.is_open("NSE", ist(2026, 11, 15, 11, 0))


def test_it_is_open_on_a_weekday_morning():
    status = calendar.market_status("NSE", ist(*MONDAY, 10, 0))
    assert status.state == MarketState.OPEN
    assert status.is_open
    assert (status.opens_at, status.closes_at) == (ist(*MONDAY, 9, 15), ist(*MONDAY, 15, 30))
    assert calendar.is_open("NFO", ist(*MONDAY, 15, 29))


def test_it_closes_at_1530_then_runs_the_post_close_session_until_1600():
    after_close = calendar.market_status("NSE", ist(*MONDAY, 15, 31))
    assert after_close.state == MarketState.CLOSED
    assert after_close.reason == "After market close 15:30 IST"
    assert after_close.opens_at == ist(2026, 11, 17, 9, 15)

    post_close = calendar.market_status("NSE", ist(*MONDAY, 15, 45))
    assert post_close.state == MarketState.POST_CLOSE
    assert "15:40-16:00" in post_close.reason
    assert calendar.market_status("NSE", ist(*MONDAY, 16, 0)).state == MarketState.CLOSED
    # F&O has no post-closing session.
    assert calendar.market_status("NFO", ist(*MONDAY, 15, 45)).state == MarketState.CLOSED


def test_it_is_in_pre_open_at_0905_and_matching_until_0915():
    status = calendar.market_status("NSE", ist(*MONDAY, 9, 5))
    assert status.state == MarketState.PRE_OPEN
    assert status.opens_at == ist(*MONDAY, 9, 15)
    matching = calendar.market_status("BSE", ist(*MONDAY, 9, 10))
    assert matching.state == MarketState.CLOSED
    assert matching.reason.startswith("Pre-open order matching")
    assert calendar.market_status("NSE", ist(*MONDAY, 8, 59)).reason == "Before market open 09:15 IST"
    assert calendar.market_status("NFO", ist(*MONDAY, 9, 5)).state == MarketState.CLOSED


def test_it_is_closed_on_a_seeded_2026_nse_holiday_with_its_description():
    status = calendar.market_status("NSE", ist(2026, 11, 10, 11, 0))
    assert status.state == MarketState.CLOSED
    assert status.reason == "Diwali Balipratipada (trading holiday)"
    assert status.opens_at == ist(2026, 11, 11, 9, 15)
    assert not calendar.is_open("CDS", ist(2026, 3, 3, 11, 0))  # Holi
    assert not calendar.is_open("NCDEX", ist(2026, 3, 3, 11, 0))


def test_mcx_trades_its_evening_session_on_an_nse_holiday():
    holi = (2026, 3, 3)
    morning = calendar.market_status("MCX", ist(*holi, 11, 0))
    assert morning.state == MarketState.CLOSED
    assert "17:00-23:30" in morning.reason
    assert morning.opens_at == ist(*holi, 17, 0)
    evening = calendar.market_status("MCX", ist(*holi, 19, 0))
    assert evening.state == MarketState.OPEN
    assert evening.reason.startswith("Holi (trading holiday)")
    assert evening.closes_at == ist(*holi, 23, 30)
    # Good Friday: MCX closed in both sessions.
    assert not calendar.is_open("MCX", ist(2026, 4, 3, 19, 0))


def test_the_muhurat_session_is_open_only_in_its_window():
    diwali = (2025, 10, 21)
    assert calendar.market_status("NSE", ist(*diwali, 10, 0)).state == MarketState.CLOSED
    in_session = calendar.market_status("NSE", ist(*diwali, 14, 0))
    assert in_session.state == MarketState.OPEN
    assert "Muhurat trading session" in in_session.reason
    assert (in_session.opens_at, in_session.closes_at) == (ist(*diwali, 13, 45), ist(*diwali, 14, 45))
    assert calendar.is_open("MCX", ist(*diwali, 13, 45))
    assert not calendar.is_open("NSE", ist(*diwali, 14, 45))
    assert not calendar.is_open("MCX", ist(*diwali, 19, 0))  # no evening session on Diwali 2025
    assert not calendar.is_open("CDS", ist(*diwali, 14, 0))
    assert calendar.session_window("NSE", dt.date(*diwali)) == (ist(*diwali, 13, 45), ist(*diwali, 14, 45))


def test_an_operator_added_special_session_opens_a_weekend():
    holiday = MarketHoliday.objects.create(
        date=dt.date(2026, 11, 28), description="Special live session", holiday_type=HolidayType.SPECIAL_SESSION
    )
    MarketHolidayExchange.objects.create(
        holiday=holiday, exchange="NSE", is_open=True, start_time=dt.time(9, 15), end_time=dt.time(10, 0)
    )
    assert calendar.is_open("NSE", ist(2026, 11, 28, 9, 30))
    assert calendar.market_status("NSE", ist(2026, 11, 28, 9, 30)).reason == "Special live session"
    assert not calendar.is_open("NSE", ist(2026, 11, 28, 10, 0))
    assert not calendar.is_open("BSE", ist(2026, 11, 28, 9, 30))  # no row: a normal Saturday


def test_next_open_crosses_a_weekend_and_a_holiday():
    assert calendar.next_open("NSE", ist(2026, 11, 13, 16, 0)) == ist(*MONDAY, 9, 15)  # Friday evening
    # Monday 2026-11-09 evening -> Tuesday 11-10 is Diwali Balipratipada -> Wednesday.
    assert calendar.next_open("NSE", ist(2026, 11, 9, 15, 30)) == ist(2026, 11, 11, 9, 15)
    # Thursday 2026-04-02 evening -> Good Friday -> weekend -> Monday.
    assert calendar.next_open("NSE", ist(2026, 4, 2, 18, 0)) == ist(2026, 4, 6, 9, 15)
    assert calendar.next_open("MCX", ist(2026, 11, 9, 23, 45)) == ist(2026, 11, 10, 17, 0)
    open_now = ist(*MONDAY, 11, 0)
    assert calendar.next_open("NSE", open_now) == open_now


def test_utc_input_gives_the_same_answers():
    at_utc = dt.datetime(2026, 11, 16, 4, 30, tzinfo=UTC)  # 10:00 IST
    assert calendar.market_status("NSE", at_utc) == calendar.market_status("NSE", ist(*MONDAY, 10, 0))
    # 2026-11-13 20:00 UTC is still Friday there, but Saturday 01:30 IST: the IST date decides.
    assert calendar.market_status("NSE", dt.datetime(2026, 11, 13, 20, 0, tzinfo=UTC)).reason == "Weekend"
    assert calendar.next_open("NSE", dt.datetime(2026, 11, 13, 20, 0, tzinfo=UTC)) == ist(*MONDAY, 9, 15)
    # 2026-11-16 03:44 UTC is 09:14 IST: not open yet; 03:45 UTC is.
    assert not calendar.is_open("NSE", dt.datetime(2026, 11, 16, 3, 44, tzinfo=UTC))
    assert calendar.is_open("NSE", dt.datetime(2026, 11, 16, 3, 45, tzinfo=UTC))


def test_it_rejects_a_naive_datetime():
    with pytest.raises(ValueError, match="timezone-aware"):
        calendar.market_status("NSE", dt.datetime(2026, 11, 16, 10, 0))


def test_derived_exchanges_follow_their_parent_and_crypto_never_closes():
    saturday = ist(2026, 11, 21, 11, 0)
    assert calendar.is_open("NSE_INDEX", ist(*MONDAY, 10, 0))
    assert calendar.market_status("BSE_INDEX", ist(2026, 11, 10, 11, 0)).reason.startswith("Diwali Balipratipada")
    assert calendar.is_open("MCX_INDEX", ist(2026, 3, 3, 18, 0))
    assert calendar.is_open("CRYPTO", saturday)
    assert calendar.next_open("CRYPTO", saturday) == saturday


def test_an_unknown_exchange_is_named_in_the_error(settings):
    settings.ENFORCE_MARKET_HOURS = True
    with pytest.raises(ValueError, match="'LSE'"):
        calendar.market_status("LSE", ist(*MONDAY, 10, 0))
    with pytest.raises(ValueError, match="'XYZ'"):
        calendar.next_open("XYZ", ist(*MONDAY, 10, 0))
    # The order path refuses (fails closed) instead of raising.
    refusal = calendar.check_market_open("NCO", ist(*MONDAY, 10, 0))
    assert refusal == "No trading hours are configured for exchange 'NCO'"


def test_a_second_call_costs_no_query(django_assert_num_queries, settings):
    settings.ENFORCE_MARKET_HOURS = True
    at = ist(*MONDAY, 10, 0)
    assert calendar.check_market_open("NSE", at) is None
    with django_assert_num_queries(0):
        assert calendar.check_market_open("NSE", at) is None
        assert calendar.market_status("NSE_INDEX", at).is_open


def test_check_market_open_refuses_with_the_reason_and_honours_the_setting(settings):
    settings.ENFORCE_MARKET_HOURS = True
    refusal = calendar.check_market_open("NSE", ist(2026, 11, 10, 11, 0))
    assert refusal == "NSE is closed: Diwali Balipratipada (trading holiday); opens 2026-11-11 09:15 IST"
    assert calendar.check_market_open("NSE", ist(*MONDAY, 9, 5)) is None  # pre-open order entry
    assert calendar.check_market_open("NSE", ist(*MONDAY, 15, 45)).startswith("NSE is closed: Post-closing")
    settings.ENFORCE_MARKET_HOURS = False
    assert calendar.check_market_open("NSE", ist(2026, 11, 10, 11, 0)) is None


def test_a_calendar_edit_invalidates_cached_answers():
    at = ist(*MONDAY, 10, 0)
    assert calendar.is_open("NSE", at)
    holiday = MarketHoliday.objects.create(date=dt.date(*MONDAY), description="Unscheduled closure")
    MarketHolidayExchange.objects.create(holiday=holiday, exchange="NSE")
    assert calendar.market_status("NSE", at).reason == "Unscheduled closure (trading holiday)"
    holiday.delete()
    assert calendar.is_open("NSE", at)
    monday = TradingSession.objects.get(template__name="NSE/BSE equity", weekday=0)
    monday.is_trading_day = False
    monday.save()
    assert calendar.market_status("NSE", at).reason == "No session on Monday"
    assert calendar.is_open("NFO", at)  # another template


def test_holidays_2026_has_the_api_shape():
    entries = calendar.holidays(2026)
    by_date = {entry["date"]: entry for entry in entries}
    assert [entry["date"] for entry in entries] == sorted(by_date)
    holi = by_date[dt.date(2026, 3, 3)]
    assert set(holi) == {"date", "description", "holiday_type", "closed_exchanges", "open_exchanges"}
    assert holi["description"] == "Holi"
    assert holi["holiday_type"] == "TRADING_HOLIDAY"
    assert holi["closed_exchanges"] == ["NSE", "BSE", "NFO", "BFO", "CDS", "BCD", "NCDEX"]
    assert holi["open_exchanges"] == [
        {"exchange": "MCX", "start_time": ist(2026, 3, 3, 17, 0), "end_time": ist(2026, 3, 3, 23, 30)}
    ]
    assert "MCX" in by_date[dt.date(2026, 12, 25)]["closed_exchanges"]
    trading_days_closed = [d for d, e in by_date.items() if "NSE" in e["closed_exchanges"] and d.weekday() < 5]
    assert len(trading_days_closed) == 16  # NSE's 15 weekday holidays + the 15 January municipal elections
    assert {d for d in by_date if d.weekday() >= 5} == {
        dt.date(2026, 2, 15), dt.date(2026, 3, 21), dt.date(2026, 8, 15), dt.date(2026, 11, 8)
    }
    entries_2025 = calendar.holidays(2025)
    nse_closed_2025 = [e["date"] for e in entries_2025 if "NSE" in e["closed_exchanges"]]
    assert len(nse_closed_2025) == 13  # NSE's 14 holidays less Diwali, which had the Muhurat session
    settlement = [e["date"] for e in entries_2025 if e["holiday_type"] == "SETTLEMENT_HOLIDAY"]
    assert settlement == [dt.date(2025, 4, 1), dt.date(2025, 5, 12), dt.date(2025, 9, 5)]
    diwali = next(e for e in entries_2025 if e["date"] == dt.date(2025, 10, 21))
    assert diwali["holiday_type"] == "SPECIAL_SESSION"
    assert [o["exchange"] for o in diwali["open_exchanges"]] == ["NSE", "BSE", "NFO", "BFO", "MCX", "NCDEX"]


def test_timings_on_a_normal_day_and_a_holiday():
    normal = {row["exchange"]: (row["start"], row["end"]) for row in calendar.timings(dt.date(*MONDAY))}
    assert normal["NSE"] == (ist(*MONDAY, 9, 15), ist(*MONDAY, 15, 30))
    assert normal["CDS"] == (ist(*MONDAY, 9, 0), ist(*MONDAY, 17, 0))
    assert normal["MCX"] == (ist(*MONDAY, 9, 0), ist(*MONDAY, 23, 30))
    assert set(normal) == {"NSE", "BSE", "NFO", "BFO", "CDS", "BCD", "MCX", "NCDEX"}

    holi = calendar.timings(dt.date(2026, 3, 3))
    assert holi == [{"exchange": "MCX", "start": ist(2026, 3, 3, 17, 0), "end": ist(2026, 3, 3, 23, 30)}]
    assert calendar.timings(dt.date(2026, 12, 25)) == []
    assert calendar.timings(dt.date(2026, 11, 21)) == []  # Saturday
    assert calendar.session_window("NSE", dt.date(2026, 11, 21)) is None
