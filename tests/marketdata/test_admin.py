"""Bars in the admin: the list renders the bars with fixed-list filters and an exact symbol search,
in a fixed number of queries however many bars there are, and bars cannot be added or edited."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from marketdata.models import Bar
from tests.accounts.conftest import enroll, sign_in
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db
IST = ZoneInfo("Asia/Kolkata")
LIST = reverse("admin:marketdata_bar_changelist")


@pytest.fixture
def staff_client(client):
    operator = StaffFactory()
    return sign_in(client, operator, enroll(operator))


def make_bars(symbol: str, count: int, exchange: str = "NSE") -> None:
    start = dt.datetime(2026, 11, 24, 9, 15, tzinfo=IST)
    Bar.objects.bulk_create(Bar(symbol=symbol, exchange=exchange, timestamp=start + dt.timedelta(minutes=n),
                                open=D("800"), high=D("801"), low=D("799"), close=D("800.5"), volume=n)
                            for n in range(count))


def test_the_list_filters_and_searches_by_exact_symbol(staff_client):
    make_bars("SBIN", 3)
    make_bars("SBINEQ", 2)
    make_bars("GOLD", 2, exchange="MCX")
    page = staff_client.get(LIST, {"q": "sbin"}).content.decode()
    assert page.count('class="field-symbol"') == 3
    assert "SBINEQ" not in page
    assert staff_client.get(LIST, {"exchange": "MCX"}).content.decode().count('class="field-symbol"') == 2
    assert staff_client.get(LIST, {"interval__exact": "D"}).content.decode().count('class="field-symbol"') == 0


def test_the_list_costs_the_same_queries_for_ten_or_a_thousand_bars(staff_client):
    make_bars("SBIN", 10)
    staff_client.get(LIST)
    with CaptureQueriesContext(connection) as few:
        assert staff_client.get(LIST).status_code == 200
    make_bars("TCS", 1000)
    with CaptureQueriesContext(connection) as many:
        assert staff_client.get(LIST).status_code == 200
    assert len(many) == len(few)
    assert not any("DISTINCT" in q["sql"].upper() for q in many.captured_queries)  # no filter scans the table


def test_bars_are_read_only_in_the_admin(staff_client):
    make_bars("SBIN", 1)
    bar = Bar.objects.get()
    assert staff_client.get(reverse("admin:marketdata_bar_add")).status_code == 403
    staff_client.post(reverse("admin:marketdata_bar_change", args=[bar.pk]), {"close": "1"})
    bar.refresh_from_db()
    assert bar.close == D("800.5")
