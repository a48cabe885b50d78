"""The official `openalgo` client in analyze mode: history and intervals answer from the bars the
price store built, and quotes carry the day's open, high, low and the previous close."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import httpx
import pandas as pd
import pytest
from openalgo import api

from accounts.services import apikeys
from accounts.services.usersettings import set_analyze_mode
from sandbox.services.prices import set_price
from tests.sandbox.factories import TRADING_DAY, UserFactory, ist

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]
YESTERDAY = TRADING_DAY - dt.timedelta(days=1)


def tick(hour: int, minute: int, price: str, volume: int, day: dt.date = TRADING_DAY) -> None:
    set_price("NSE", "SBIN", D(price), at=ist(hour, minute, day), volume=volume, match=False)


@pytest.fixture
def key(live_server, sbin, settings):
    settings.RATE_LIMITS_ENABLED = False
    user = UserFactory()
    set_analyze_mode(user, True)
    _, key = apikeys.create_key(user, "analyze", "auto")
    tick(9, 15, "790", 100, YESTERDAY)
    tick(15, 29, "795.5", 400, YESTERDAY)
    for hour, minute, price, volume in [(9, 15, "800", 100), (9, 17, "806", 250), (9, 21, "798", 300),
                                        (9, 32, "803", 420)]:
        tick(hour, minute, price, volume)
    return key


@pytest.fixture
def client(live_server, key):
    return api(api_key=key, host=live_server.url)


def test_history_answers_from_stored_bars_through_the_client(client):
    day = TRADING_DAY.isoformat()
    frame = client.history(symbol="SBIN", exchange="NSE", interval="5m", start_date=day, end_date=day)
    assert isinstance(frame, pd.DataFrame), frame
    assert [(t.strftime("%H:%M %Z"), o, h, lo, c, v) for t, o, h, lo, c, v in frame[
        ["open", "high", "low", "close", "volume"]].itertuples()] == [
        ("09:15 IST", 800.0, 806.0, 800.0, 806.0, 250),
        ("09:20 IST", 798.0, 798.0, 798.0, 798.0, 50),
        ("09:30 IST", 803.0, 803.0, 803.0, 803.0, 120),
    ]
    daily = client.history(symbol="SBIN", exchange="NSE", interval="D", start_date=YESTERDAY.isoformat(),
                           end_date=day)
    assert [(t.date(), o, c, v) for t, o, c, v in daily[["open", "close", "volume"]].itertuples()] == [
        (YESTERDAY, 790.0, 795.5, 400), (TRADING_DAY, 800.0, 803.0, 420)]


def test_history_keeps_openalgos_json_shape(live_server, key):
    body = httpx.post(f"{live_server.url}/api/v1/history", json={
        "apikey": key, "symbol": "SBIN", "exchange": "NSE", "interval": "1m", "start_date": TRADING_DAY.isoformat(),
        "end_date": TRADING_DAY.isoformat()}).json()
    assert body["status"] == "success"
    assert body["data"][0] == {"timestamp": int(ist(9, 15).timestamp()), "open": 800.0, "high": 800.0,
                               "low": 800.0, "close": 800.0, "volume": 100, "oi": 0}
    refused = httpx.post(f"{live_server.url}/api/v1/history", json={
        "apikey": key, "symbol": "SBIN", "exchange": "NSE", "interval": "2m", "start_date": "2026-11-25",
        "end_date": "2026-11-25"})
    assert refused.status_code == 400
    assert refused.json() == {"status": "error", "message": "interval: 2m is not served; use one of "
                                                            "1m, 3m, 5m, 10m, 15m, 30m, 1h, D, W, M."}


def test_intervals_list_what_the_store_serves(client):
    assert client.intervals() == {"status": "success", "mode": "analyze", "data": {
        "months": ["M"], "weeks": ["W"], "days": ["D"], "hours": ["1h"],
        "minutes": ["1m", "3m", "5m", "10m", "15m", "30m"], "seconds": []}}


def test_quotes_carry_the_days_open_high_low_and_previous_close(client):
    quote = client.quotes(symbol="SBIN", exchange="NSE")["data"]
    assert (quote["open"], quote["high"], quote["low"], quote["ltp"], quote["prev_close"]) == (
        800.0, 806.0, 798.0, 803.0, 795.5)


@pytest.mark.parametrize(("start", "end"), [("0001-01-01", "0001-01-02"), ("9999-12-30", "9999-12-31")])
def test_dates_at_the_ends_of_the_calendar_are_a_400(live_server, key, start, end):
    response = httpx.post(f"{live_server.url}/api/v1/history", json={
        "apikey": key, "symbol": "SBIN", "exchange": "NSE", "interval": "D", "start_date": start, "end_date": end})
    assert response.status_code == 400
    assert response.json()["message"] == "start_date/end_date: out of range."
