"""The calendar admin: timetables and holidays render, filter by year and type, search, and edits reach the service."""
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from tests.accounts.conftest import enroll, sign_in
from tests.factories import StaffFactory
from trading.models import MarketHoliday, TradingHoursTemplate
from trading.services import calendar

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    operator = StaffFactory()
    return sign_in(client, operator, enroll(operator))


def test_every_calendar_page_renders(staff):
    holi = MarketHoliday.objects.get(date=dt.date(2026, 3, 3))
    template = TradingHoursTemplate.objects.get(name="MCX commodity")
    pages = [
        reverse("admin:trading_tradinghourstemplate_changelist"),
        reverse("admin:trading_tradinghourstemplate_change", args=[template.pk]),
        reverse("admin:trading_marketholiday_changelist"),
        reverse("admin:trading_marketholiday_change", args=[holi.pk]),
        reverse("admin:trading_marketholiday_add"),
    ]
    for url in pages:
        assert staff.get(url).status_code == 200, url
    body = staff.get(reverse("admin:trading_marketholiday_change", args=[holi.pk])).content.decode()
    assert "17:00" in body  # the MCX evening row is inline


def test_the_holiday_list_filters_by_year_and_type_and_searches(staff):
    url = reverse("admin:trading_marketholiday_changelist")
    in_2025 = staff.get(url, {"year": "2025"}).context["cl"].queryset
    assert in_2025.exists()
    assert {h.date.year for h in in_2025} == {2025}
    special = staff.get(url, {"holiday_type__exact": "SPECIAL_SESSION"}).context["cl"].queryset
    assert [h.date for h in special] == [dt.date(2025, 10, 21)]
    found = staff.get(url, {"q": "Balipratipada"}).context["cl"].queryset
    assert sorted(h.date for h in found) == [dt.date(2025, 10, 22), dt.date(2026, 11, 10)]
    templates = staff.get(reverse("admin:trading_tradinghourstemplate_changelist"), {"q": "NCDEX"})
    assert [t.name for t in templates.context["cl"].queryset] == ["NCDEX commodity"]


def test_a_holiday_added_in_the_admin_closes_the_exchange(staff):
    at = dt.datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("Asia/Kolkata"))
    assert calendar.is_open("NSE", at)  # cached now
    response = staff.post(reverse("admin:trading_marketholiday_add"), {
        "date": "2026-12-01", "description": "Exchange outage", "holiday_type": "TRADING_HOLIDAY",
        "exchanges-TOTAL_FORMS": "1", "exchanges-INITIAL_FORMS": "0",
        "exchanges-MIN_NUM_FORMS": "0", "exchanges-MAX_NUM_FORMS": "1000",
        "exchanges-0-exchange": "nse", "exchanges-0-is_open": "",
        "exchanges-0-start_time": "", "exchanges-0-end_time": "",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    assert calendar.market_status("NSE", at).reason == "Exchange outage (trading holiday)"


def test_the_admin_refuses_an_open_row_without_hours(staff):
    response = staff.post(reverse("admin:trading_marketholiday_add"), {
        "date": "2026-12-02", "description": "Half day", "holiday_type": "SPECIAL_SESSION",
        "exchanges-TOTAL_FORMS": "1", "exchanges-INITIAL_FORMS": "0",
        "exchanges-MIN_NUM_FORMS": "0", "exchanges-MAX_NUM_FORMS": "1000",
        "exchanges-0-exchange": "NSE", "exchanges-0-is_open": "on",
        "exchanges-0-start_time": "", "exchanges-0-end_time": "",
    })
    assert response.status_code == 200
    assert not MarketHoliday.objects.filter(date=dt.date(2026, 12, 2)).exists()


def test_the_admin_refuses_an_exchange_already_in_another_active_template(staff):
    response = staff.post(reverse("admin:trading_tradinghourstemplate_add"), {
        "name": "Duplicate", "time_zone": "Asia/Kolkata", "exchanges": '["MCX"]', "is_active": "on",
        "description": "", "sessions-TOTAL_FORMS": "0", "sessions-INITIAL_FORMS": "0",
        "sessions-MIN_NUM_FORMS": "0", "sessions-MAX_NUM_FORMS": "7",
    })
    assert response.status_code == 200
    assert "Already in another active template: MCX" in response.content.decode()
