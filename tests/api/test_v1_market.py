"""/api/v1/ market data, reference data and the market calendar: shapes, bad input, account isolation."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from tests.api.conftest import persona
from tests.api.factories import InstrumentFactory, TradingAccountFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
IST = ZoneInfo("Asia/Kolkata")
SBIN = {"exchange": "NSE", "symbol": "SBIN"}


def ms(*args: int) -> int:
    return int(dt.datetime(*args, tzinfo=IST).timestamp() * 1000)


def test_quotes_come_from_the_sandbox_price_store(owner):
    body = owner.v1("quotes", {"symbol": "sbin", "exchange": "nse"}).json()
    volume = body["data"]["volume"]
    assert isinstance(volume, int)
    assert body == {"status": "success", "mode": "analyze", "data": {
        "open": 800.0, "high": 800.0, "low": 800.0, "ltp": 800.0, "ask": 800.05, "bid": 799.95, "prev_close": 0.0,
        "volume": volume, "oi": 0}}


@pytest.mark.parametrize(("body", "field"), [
    ({"exchange": "NSE"}, "symbol"),
    ({"symbol": "SBIN"}, "exchange"),
    ({"symbol": "SBIN", "exchange": "LSE"}, "exchange"),
    ({"symbol": "NOPE", "exchange": "NSE"}, "symbol"),
])
@pytest.mark.parametrize("path", ["quotes", "depth"])
def test_quotes_and_depth_refuse_bad_input_naming_the_field(owner, path, body, field):
    response = owner.v1(path, body)
    assert response.status_code == 400
    assert response.json()["status"] == "error"
    assert response.json()["message"].startswith(f"{field}:")


def test_a_known_symbol_without_a_price_is_a_broker_error(owner):
    InstrumentFactory(exchange="NSE", symbol="INFY")
    response = owner.v1("quotes", {"symbol": "INFY", "exchange": "NSE"})
    assert response.status_code == 400
    assert "No price for NSE:INFY" in response.json()["message"]


def test_multiquotes_answers_each_pair_in_order(owner):
    body = owner.v1("multiquotes", {"symbols": [SBIN, {"exchange": "NSE", "symbol": "NOPE"},
                                                {"exchange": "NFO", "symbol": "NIFTY30DEC26FUT"}]}).json()
    assert body["status"] == "success"
    sbin, nope, fut = body["results"]
    assert sbin["data"]["ltp"] == 800.0
    assert (nope["symbol"], "data" in nope) == ("NOPE", False)
    assert "instrument master" in nope["error"]
    assert fut["data"]["ltp"] == 24000.0


def test_multiquotes_with_no_known_symbol_is_400(owner):
    response = owner.v1("multiquotes", {"symbols": [{"exchange": "NSE", "symbol": "NOPE"}]})
    assert response.status_code == 400
    assert response.json()["message"].startswith("symbols[0].symbol:")
    assert owner.v1("multiquotes", {"symbols": []}).status_code == 400


def test_depth_has_five_levels_a_side(owner):
    data = owner.v1("depth", SBIN).json()["data"]
    assert data["ltp"] == 800.0
    assert data["bids"][0] == {"price": 799.95, "quantity": 120}
    assert data["asks"][0] == {"price": 800.05, "quantity": 80}
    assert data["bids"][1:] == data["asks"][1:] == [{"price": 0.0, "quantity": 0}] * 4
    assert (data["totalbuyqty"], data["totalsellqty"], data["ltq"]) == (120, 80, 0)


def test_history_in_analyze_mode_comes_from_the_sandboxs_bars(owner):
    # The price store's bars (tests/sandbox/test_history_client.py); none were stored in January.
    response = owner.v1("history", {**SBIN, "interval": "5m", "start_date": "2026-01-01", "end_date": "2026-01-31"})
    assert response.json() == {"status": "success", "mode": "analyze", "data": []}


@pytest.mark.parametrize(("fields", "field"), [
    ({"interval": "7x"}, "interval"),
    ({"start_date": "01-01-2026"}, "start_date"),
    ({"end_date": "2025-12-01"}, "end_date"),
    ({"source": "db"}, "source"),
])
def test_history_refuses_bad_input_naming_the_field(owner, fields, field):
    body = {**SBIN, "interval": "D", "start_date": "2026-01-01", "end_date": "2026-01-31", **fields}
    response = owner.v1("history", body)
    assert response.status_code == 400
    assert response.json()["message"].startswith(f"{field}:")


def test_intervals_groups_what_the_broker_serves(owner):
    body = owner.v1("intervals").json()
    assert body["status"] == "success"
    assert set(body["data"]) == {"months", "weeks", "days", "hours", "minutes", "seconds"}
    assert body["data"]["minutes"] == ["1m", "3m", "5m", "10m", "15m", "30m"]  # aggregated from the sandbox's bars


def test_intervals_are_sorted_numerically():
    from trading.openalgo_api.market import group_intervals

    assert group_intervals(["15m", "1m", "D", "1h", "5m", "30s", "W"]) == {
        "months": [], "weeks": ["W"], "days": ["D"], "hours": ["1h"], "minutes": ["1m", "5m", "15m"],
        "seconds": ["30s"]}


def test_symbol_returns_the_instrument_master_record(owner, market):
    body = owner.v1("symbol", {"exchange": "NFO", "symbol": "NIFTY30DEC26FUT"}).json()
    assert body["data"] == {
        "id": market["FUT"].pk, "symbol": "NIFTY30DEC26FUT", "brsymbol": "NIFTY30DEC26FUT", "name": "NIFTY",
        "exchange": "NFO", "brexchange": "NFO", "token": "", "expiry": "30-DEC-26", "strike": -1.0, "lotsize": 75,
        "instrumenttype": "FUT", "tick_size": 0.1, "freeze_qty": 0}


def test_symbol_uses_the_users_broker_names(market):
    from brokers.models import BrokerToken

    live = persona(UserFactory(), analyze=False)
    TradingAccountFactory(user=live.user, broker="openalgo", credentials={})
    BrokerToken.objects.create(instrument=market["SBIN"], broker="openalgo", token="3045", broker_symbol="SBIN-EQ",
                               broker_exchange="NSE")
    data = live.v1("symbol", SBIN).json()["data"]
    assert (data["token"], data["brsymbol"], data["brexchange"]) == ("3045", "SBIN-EQ", "NSE")


def test_unknown_symbol_is_404(owner):
    response = owner.v1("symbol", {"exchange": "NSE", "symbol": "NOPE"})
    assert response.status_code == 404
    assert response.json() == {"status": "error", "message": "Symbol NOPE not found in exchange NSE"}


def test_search_finds_by_symbol_or_name(owner):
    body = owner.v1("search", {"query": "state bank"}).json()
    assert [r["symbol"] for r in body["data"]] == ["SBIN"]
    assert body["message"] == "Found 1 matching symbols"
    assert owner.v1("search", {"query": "NIFTY", "exchange": "NSE"}).json()["data"] == []
    assert owner.v1("search", {"query": ""}).status_code == 400


def test_expiry_lists_coming_expiries(owner):
    InstrumentFactory(exchange="NFO", symbol="NIFTY28NOV24FUT", underlying="NIFTY", instrument_type="FUT",
                      expiry=dt.date(2024, 11, 28))
    body = owner.v1("expiry", {"symbol": "NIFTY", "exchange": "NFO", "instrumenttype": "futures"}).json()
    assert body["data"] == ["30-DEC-26"]  # the 2024 contract has expired
    assert owner.v1("expiry", {"symbol": "NIFTY", "exchange": "NFO", "instrumenttype": "options"}).json()[
        "data"] == []


@pytest.mark.parametrize(("fields", "field"), [
    ({"instrumenttype": "swaps"}, "instrumenttype"),
    ({"exchange": "NSE"}, "exchange"),
    ({"symbol": ""}, "symbol"),
])
def test_expiry_refuses_bad_input_naming_the_field(owner, fields, field):
    response = owner.v1("expiry", {"symbol": "NIFTY", "exchange": "NFO", "instrumenttype": "futures", **fields})
    assert response.status_code == 400
    assert response.json()["message"].startswith(f"{field}:")


def test_holidays_in_openalgos_shape(owner):
    body = owner.v1("market/holidays", {"year": 2026}).json()
    assert (body["status"], body["year"], body["timezone"]) == ("success", 2026, "Asia/Kolkata")
    by_date = {h["date"]: h for h in body["data"]}
    republic = by_date["2026-01-26"]
    assert republic["description"] == "Republic Day"
    assert "NSE" in republic["closed_exchanges"]
    holi = by_date["2026-03-03"]
    [mcx] = [o for o in holi["open_exchanges"] if o["exchange"] == "MCX"]
    assert mcx["start_time"] == ms(2026, 3, 3, 17, 0)
    assert mcx["end_time"] > mcx["start_time"]


def test_holidays_refuse_a_year_out_of_range(owner):
    response = owner.v1("market/holidays", {"year": 1999})
    assert response.status_code == 400
    assert response.json()["message"].startswith("year:")


def test_timings_of_a_trading_day_in_epoch_ms(owner):
    body = owner.v1("market/timings", {"date": "2026-01-27"}).json()
    nse = next(row for row in body["data"] if row["exchange"] == "NSE")
    assert nse == {"exchange": "NSE", "start_time": ms(2026, 1, 27, 9, 15), "end_time": ms(2026, 1, 27, 15, 30)}


def test_timings_of_a_closed_day_are_empty(owner):
    assert owner.v1("market/timings", {"date": "2026-01-26"}).json()["data"] == []  # Republic Day
    assert owner.v1("market/timings", {"date": "2026-01-25"}).json()["data"] == []  # a Sunday


def test_timings_refuse_a_bad_date(owner):
    response = owner.v1("market/timings", {"date": "27/01/2026"})
    assert response.status_code == 400
    assert response.json()["message"].startswith("date:")


@pytest.mark.parametrize(("path", "body"), [
    ("funds", {}), ("orderbook", {}), ("tradebook", {}), ("positionbook", {}), ("holdings", {}), ("ping", {}),
    ("intervals", {}), ("quotes", SBIN), ("depth", SBIN), ("multiquotes", {"symbols": [SBIN]}),
    ("history", {**SBIN, "interval": "D", "start_date": "2026-01-01", "end_date": "2026-01-02"}),
    ("margin", {"positions": [{**SBIN, "action": "BUY", "quantity": 1, "product": "MIS", "pricetype": "MARKET"}]}),
    ("symbol", SBIN), ("search", {"query": "SBIN"}),
])
def test_naming_another_users_account_reads_nothing_of_it(market, path, body):
    owner = persona(UserFactory(), analyze=False)
    TradingAccountFactory(user=owner.user, name="owners-account", broker="sandbox")
    for intruder in (persona(UserFactory(), analyze=False), persona(UserFactory(is_staff=True), analyze=False)):
        response = intruder.v1(path, {**body, "account": "owners-account"})
        assert response.status_code == 400, (path, response.json())
        assert response.json()["message"] == "account: no active trading account named 'owners-account'."
