"""/api/v1/ account endpoints in analyze mode: OpenAlgo's shapes, isolation between users, bad input."""
from __future__ import annotations

import datetime as dt

import pytest

from accounts.models import OrderMode
from accounts.services.usersettings import is_analyze_mode
from tests.api.conftest import persona
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

BUY_SBIN = {"strategy": "t", "exchange": "NSE", "symbol": "SBIN", "action": "BUY", "quantity": "10",
            "pricetype": "MARKET", "product": "MIS"}


def place(who, **fields):
    response = who.v1("placeorder", {**BUY_SBIN, **fields})
    assert response.status_code == 200, response.json()
    return response.json()["orderid"]


def test_funds_has_openalgo_fields_as_numbers(owner):
    body = owner.v1("funds").json()
    assert body["status"] == "success"
    assert body["mode"] == "analyze"
    assert set(body["data"]) == {"availablecash", "collateral", "m2mrealized", "m2munrealized", "utiliseddebits"}
    assert all(isinstance(v, float) for v in body["data"].values())
    assert body["data"]["availablecash"] == 10_000_000.0


def test_funds_show_the_margin_an_order_blocked(owner):
    place(owner)  # 10 SBIN MIS at the ask 800.05, 5x leverage: 1600.10 blocked
    data = owner.v1("funds").json()["data"]
    assert data["utiliseddebits"] == 1600.1
    assert data["availablecash"] == 10_000_000.0 - 1600.1


def test_orderbook_lists_orders_with_statistics(owner):
    filled = place(owner)
    resting = place(owner, action="SELL", pricetype="LIMIT", price="900", quantity="5")
    body = owner.v1("orderbook").json()
    assert body["status"] == "success"
    assert body["mode"] == "analyze"
    orders = {o["orderid"]: o for o in body["data"]["orders"]}
    assert set(orders) == {filled, resting}
    assert orders[filled] == {
        "action": "BUY", "symbol": "SBIN", "exchange": "NSE", "orderid": filled, "product": "MIS", "quantity": 10,
        "price": 0.0, "pricetype": "MARKET", "order_status": "complete", "trigger_price": 0.0,
        "average_price": 800.05, "filled_quantity": 10, "timestamp": orders[filled]["timestamp"],
    }
    dt.datetime.strptime(orders[filled]["timestamp"], "%Y-%m-%d %H:%M:%S")
    assert orders[resting]["order_status"] == "open"
    assert orders[resting]["price"] == 900.0
    assert body["data"]["statistics"] == {"total_buy_orders": 1, "total_sell_orders": 1,
                                          "total_completed_orders": 1, "total_open_orders": 1,
                                          "total_rejected_orders": 0}


def test_tradebook_lists_fills(owner):
    orderid = place(owner)
    body = owner.v1("tradebook").json()
    assert body["data"] == [{"action": "BUY", "symbol": "SBIN", "exchange": "NSE", "orderid": orderid,
                             "product": "MIS", "quantity": 10, "average_price": 800.05,
                             "timestamp": body["data"][0]["timestamp"], "trade_value": 8000.5}]


def test_positionbook_lists_net_positions(owner):
    place(owner)
    body = owner.v1("positionbook").json()
    assert body["status"] == "success"
    assert body["mode"] == "analyze"
    [row] = body["data"]
    assert row == {"symbol": "SBIN", "exchange": "NSE", "product": "MIS", "quantity": 10, "average_price": 800.05,
                   "ltp": 800.0, "pnl": -0.5}


def test_holdings_lists_settled_delivery_buys_with_statistics(owner):
    from sandbox.services.settlement import settle_cnc

    place(owner, product="CNC")
    settle_cnc(at=dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    body = owner.v1("holdings").json()
    assert body["status"] == "success"
    assert body["mode"] == "analyze"
    [row] = body["data"]["holdings"]
    assert row["symbol"] == "SBIN"
    assert row["quantity"] == 10
    assert row["product"] == "CNC"
    assert row["pnl"] == -0.5
    assert row["pnlpercent"] == -0.01
    assert body["data"]["statistics"] == {"totalholdingvalue": 8000.0, "totalinvvalue": 8000.5,
                                          "totalprofitandloss": -0.5, "totalpnlpercentage": -0.01}


def test_books_are_empty_for_a_new_user(owner):
    assert owner.v1("orderbook").json()["data"]["orders"] == []
    assert owner.v1("tradebook").json()["data"] == []
    assert owner.v1("positionbook").json()["data"] == []
    assert owner.v1("holdings").json()["data"]["holdings"] == []


@pytest.mark.parametrize("path", ["orderbook", "tradebook", "positionbook"])
def test_another_users_key_never_sees_the_owners_books(owner, intruders, path):
    place(owner)
    assert owner.v1(path).json()["data"]  # the owner sees it
    for intruder in intruders:
        body = intruder.v1(path).json()
        data = body["data"]["orders"] if path == "orderbook" else body["data"]
        assert data == [], f"{path} leaked to {intruder.user}"


def test_another_users_key_never_sees_the_owners_holdings_or_funds(owner, intruders):
    from sandbox.services.settlement import settle_cnc

    place(owner, product="CNC")
    settle_cnc(at=dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    for intruder in intruders:
        assert intruder.v1("holdings").json()["data"]["holdings"] == []
        assert intruder.v1("funds").json()["data"]["availablecash"] == 10_000_000.0


def test_margin_estimates_quantity_times_price(owner):
    body = owner.v1("margin", {"positions": [
        {"exchange": "NSE", "symbol": "SBIN", "action": "BUY", "quantity": "10", "product": "MIS",
         "pricetype": "LIMIT", "price": "810"},
        {"exchange": "NFO", "symbol": "NIFTY30DEC26FUT", "action": "sell", "quantity": 75, "product": "NRML",
         "pricetype": "market"},
    ]}).json()
    assert body["status"] == "success"
    assert body["mode"] == "analyze"
    data = body["data"]
    assert set(data) == {"total_margin_required", "span_margin", "exposure_margin"}
    # The sandbox's default leverage: equity MIS 5x, futures 10x.
    equity, futures = 5, 10
    assert data["span_margin"] == 75 * 24000.0 / futures
    assert data["total_margin_required"] == 10 * 810.0 / equity + 75 * 24000.0 / futures
    assert data["exposure_margin"] == 0.0


@pytest.mark.parametrize(("positions", "field"), [
    ([], "positions"),
    ([{"exchange": "NSE", "symbol": "SBIN", "action": "BUY", "quantity": "1", "product": "MIS",
       "pricetype": "MARKET"}] * 51, "positions"),
    ([{"exchange": "XYZ", "symbol": "SBIN", "action": "BUY", "quantity": "1", "product": "MIS",
       "pricetype": "MARKET"}], "exchange"),
    ([{"exchange": "NSE", "symbol": "NOPE", "action": "BUY", "quantity": "1", "product": "MIS",
       "pricetype": "MARKET"}], "symbol"),
    ([{"exchange": "NSE", "symbol": "SBIN", "action": "BUY", "quantity": "0", "product": "MIS",
       "pricetype": "MARKET"}], "quantity"),
    ([{"exchange": "NSE", "symbol": "SBIN", "action": "BUY", "quantity": "1", "product": "MIS",
       "pricetype": "LIMIT"}], "price"),
])
def test_margin_rejects_bad_legs_naming_the_field(owner, positions, field):
    response = owner.v1("margin", {"positions": positions})
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "error"
    assert field in body["message"]


def test_analyzer_reports_the_users_mode_and_sandbox_order_count(owner, other):
    place(owner)
    body = owner.v1("analyzer").json()
    assert body == {"status": "success", "mode": "analyze",
                    "data": {"mode": "analyze", "analyze_mode": True, "total_logs": 1}}
    live = persona(UserFactory(), analyze=False)
    assert live.v1("analyzer").json()["data"] == {"mode": "live", "analyze_mode": False, "total_logs": 0}
    assert other.v1("analyzer").json()["data"]["total_logs"] == 0


def test_analyzer_toggle_switches_only_the_callers_mode(owner, other):
    body = owner.v1("analyzer/toggle", {"mode": False}).json()
    assert body["status"] == "success"
    assert "mode" not in body  # live now: no analyze marker on the answer
    assert body["data"]["mode"] == "live"
    assert body["data"]["analyze_mode"] is False
    assert body["data"]["message"] == "Analyzer mode switched to live"
    assert not is_analyze_mode(owner.user.pk)
    assert is_analyze_mode(other.user.pk)
    back = owner.v1("analyzer/toggle", {"mode": "true"}).json()
    assert back["mode"] == "analyze"
    assert back["data"]["analyze_mode"] is True


def test_analyzer_toggle_needs_a_boolean_mode(owner):
    for body in ({}, {"mode": "sometimes"}):
        response = owner.v1("analyzer/toggle", body)
        assert response.status_code == 400
        assert response.json()["message"].startswith("mode:")


def test_a_semi_auto_key_may_not_toggle_analyze_mode(owner):
    semi = persona(owner.user, analyze=False, mode=OrderMode.SEMI_AUTO)
    response = semi.v1("analyzer/toggle", {"mode": False})
    assert response.status_code == 403
    assert response.json()["status"] == "error"
    assert is_analyze_mode(owner.user.pk)
    assert semi.v1("analyzer").status_code == 200  # reading the mode is allowed


def test_ping_names_the_broker(owner):
    assert owner.v1("ping").json() == {"status": "success", "mode": "analyze",
                                       "data": {"message": "pong", "broker": "sandbox"}}


def test_a_live_user_without_an_account_gets_400_naming_the_problem(market):
    live = persona(UserFactory(), analyze=False)
    response = live.v1("funds")
    assert response.status_code == 400
    assert "trading account" in response.json()["message"]


def test_a_live_user_reads_the_named_account(market):
    from tests.api.factories import TradingAccountFactory

    live = persona(UserFactory(), analyze=False)
    TradingAccountFactory(user=live.user, name="main", broker="sandbox")
    assert live.v1("funds", {"account": "main"}).status_code == 200
    response = live.v1("funds", {"account": "nope"})
    assert response.status_code == 400
    assert response.json()["message"].startswith("account:")


@pytest.mark.parametrize("path", ["funds", "orderbook", "tradebook", "positionbook", "holdings", "margin",
                                  "analyzer", "analyzer/toggle", "ping"])
def test_a_bad_key_gets_403(market, path):
    from rest_framework.test import APIClient

    response = APIClient().post(f"/api/v1/{path}", {"apikey": "nope.nope"}, format="json")
    assert response.status_code == 403
    assert response.json() == {"status": "error", "message": "Invalid openalgo apikey"}
