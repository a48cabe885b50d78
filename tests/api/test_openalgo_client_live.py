"""The official `openalgo` client reads AlgoDesk's account, market-data, reference and calendar
endpoints unchanged; and AlgoDesk's own openalgo adapter reads them from another AlgoDesk (here:
this one, on a live server), which checks the shapes both ways."""
from __future__ import annotations

import pytest
from openalgo import api

from brokers.adapters.openalgo import close_clients
from tests.api.conftest import persona
from tests.api.factories import TradingAccountFactory
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]


@pytest.fixture(autouse=True)
def _fresh_http_clients():
    # The adapter pools a client per host; the live server's port is gone after the test.
    yield
    close_clients()


def test_the_official_client_reads_books_market_data_and_reference(live_server, owner):
    client = api(api_key=owner.key, host=live_server.url)
    placed = client.placeorder(strategy="py", symbol="SBIN", action="BUY", exchange="NSE", price_type="MARKET",
                               product="MIS", quantity=4)
    assert placed["status"] == "success", placed

    funds = client.funds()
    assert funds["status"] == "success", funds
    assert funds["data"]["utiliseddebits"] == 640.04  # 4 x 800.05 / 5
    assert client.orderbook()["data"]["statistics"]["total_completed_orders"] == 1
    assert client.tradebook()["data"][0]["trade_value"] == 3200.2
    assert client.positionbook()["data"][0]["quantity"] == 4
    assert client.holdings()["data"]["holdings"] == []
    assert client.analyzerstatus()["data"]["analyze_mode"] is True
    assert client.quotes(symbol="SBIN", exchange="NSE")["data"]["ltp"] == 800.0
    multi = client.multiquotes(symbols=[{"symbol": "SBIN", "exchange": "NSE"}])
    assert multi["results"][0]["data"]["bid"] == 799.95
    assert client.depth(symbol="SBIN", exchange="NSE")["data"]["asks"][0]["price"] == 800.05
    assert client.symbol(symbol="SBIN", exchange="NSE")["data"]["lotsize"] == 1
    assert [r["symbol"] for r in client.search(query="SBIN")["data"]] == ["SBIN"]
    assert client.expiry(symbol="NIFTY", exchange="NFO", instrumenttype="futures")["data"] == ["30-DEC-26"]
    assert set(client.intervals()["data"]) == {"months", "weeks", "days", "hours", "minutes", "seconds"}
    margin = client.margin(positions=[{"symbol": "SBIN", "exchange": "NSE", "action": "BUY", "product": "MIS",
                                       "pricetype": "LIMIT", "quantity": 10, "price": 800}])
    assert margin["status"] == "success", margin
    assert client.holidays(year=2026)["year"] == 2026
    assert [t["exchange"] for t in client.timings(date="2026-01-26")["data"]] == []
    assert client.analyzertoggle(mode=False)["data"]["mode"] == "live"


def test_the_openalgo_adapter_reads_another_algodesks_books(live_server, owner):
    """A live user whose account is an openalgo link to `owner` (in analyze mode) on the live server."""
    assert owner.v1("placeorder", {"strategy": "up", "exchange": "NSE", "symbol": "SBIN", "action": "BUY",
                                   "quantity": "3"}).status_code == 200
    downstream = persona(UserFactory(), analyze=False)
    TradingAccountFactory(user=downstream.user, broker="openalgo", name="upstream",
                          credentials={"host_url": live_server.url, "api_key": owner.key})
    upstream_funds = owner.v1("funds").json()["data"]
    assert downstream.v1("funds").json()["data"] == upstream_funds
    [position] = downstream.v1("positionbook").json()["data"]
    assert (position["symbol"], position["quantity"], position["average_price"]) == ("SBIN", 3, 800.05)
    book = downstream.v1("orderbook").json()["data"]
    assert book["orders"] == owner.v1("orderbook").json()["data"]["orders"]
    assert downstream.v1("quotes", {"symbol": "SBIN", "exchange": "NSE"}).json()["data"]["ask"] == 800.05
    assert downstream.v1("ping").json()["data"]["message"] == "pong"
