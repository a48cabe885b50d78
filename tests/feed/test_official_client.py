"""The official openalgo client's feed methods, unchanged, against a live feed: connect, subscribe_ltp,
subscribe_quote, subscribe_depth and the get_* readers (the installed 1.0.x client), subscribe_orders and
get_orders (the 2.0.x client) with order updates from sandbox fills, and isolation between two users."""
from __future__ import annotations

import pytest
from openalgo import api

from sandbox.services.prices import set_price
from tests.feed.conftest import openalgo2_feed_api, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]
SBIN = [{"exchange": "NSE", "symbol": "SBIN"}]


@pytest.fixture
def disconnect():
    clients = []
    yield clients.append
    for client in clients:
        client.disconnect()


def test_ltp_quote_and_depth_through_the_official_client(feed, owner, disconnect):
    # host without a port, as scripts give it: the client builds ws://127.0.0.1:<ws_port> itself
    client = api(api_key=owner.key, host="http://127.0.0.1:5000", ws_port=feed.port)
    assert client.connect() is True
    disconnect(client)
    seen = []
    assert client.subscribe_ltp(SBIN, on_data_received=seen.append) is not False
    assert client.subscribe_quote(SBIN) is not False
    assert client.subscribe_depth([{"exchange": "NFO", "symbol": "NIFTY30DEC26FUT"}, *SBIN]) is not False
    wait_for(lambda: client.get_ltp()["ltp"].get("NSE", {}).get("SBIN"), what="the stored LTP")
    assert client.get_ltp()["ltp"]["NSE"]["SBIN"]["ltp"] == 800.0

    set_price("NSE", "SBIN", "803.25", bid="803.20", ask="803.30", bid_qty=40, ask_qty=60, volume=9000)
    wait_for(lambda: client.get_ltp("NSE", "SBIN")["ltp"]["NSE"]["SBIN"]["ltp"] == 803.25, what="the new LTP")
    wait_for(lambda: client.get_quotes("NSE", "SBIN")["quote"].get("NSE", {}).get("SBIN", {}).get("ltp") == 803.25,
             what="the new quote")
    quote = client.get_quotes("NSE", "SBIN")["quote"]["NSE"]["SBIN"]
    assert (quote["open"], quote["high"], quote["low"], quote["volume"]) == (800.0, 803.25, 800.0, 9000)
    wait_for(lambda: client.get_depth("NSE", "SBIN")["depth"].get("NSE", {}).get("SBIN", {}).get("ltp") == 803.25,
             what="the new depth")
    depth = client.get_depth("NSE", "SBIN")["depth"]["NSE"]["SBIN"]
    assert depth["buyBook"]["1"] == {"price": 803.2, "qty": 40, "orders": 1}
    assert depth["sellBook"]["1"] == {"price": 803.3, "qty": 60, "orders": 1}
    assert depth["sellBook"]["5"] == {"price": 0.0, "qty": 0, "orders": 0}
    assert client.get_depth("NFO", "NIFTY30DEC26FUT")["depth"]["NFO"]["NIFTY30DEC26FUT"]["ltp"] == 24000.0
    assert seen
    assert seen[-1]["data"]["ltp"] == 803.25

    assert client.unsubscribe_ltp(SBIN) is not False
    wait_for(lambda: 1 not in next(iter(feed.hub.index[("store", "NSE", "SBIN")].values())),
             what="the LTP subscription to go")


def test_order_updates_of_sandbox_fills_reach_only_their_owner(feed, owner, other, disconnect):
    FeedAPI = openalgo2_feed_api()
    mine = FeedAPI(api_key=owner.key, host="http://127.0.0.1", ws_port=feed.port, auto_reconnect=False)
    theirs = FeedAPI(api_key=other.key, host="http://127.0.0.1", ws_port=feed.port, auto_reconnect=False)
    for client in (mine, theirs):
        assert client.connect() is True
        disconnect(client)
        assert client.subscribe_orders() is True
    wait_for(lambda: len(feed.hub.order_readers) == 2, what="both order subscriptions")

    placed = owner.v1("placeorder", {"strategy": "feed", "exchange": "NSE", "symbol": "SBIN", "action": "BUY",
                                      "quantity": "2", "pricetype": "LIMIT", "price": "790", "product": "CNC"})
    assert placed.status_code == 200, placed.json()
    orderid = placed.json()["orderid"]
    update = wait_for(lambda: mine.get_orders()["orders"], what="the open order's update")[0]
    assert update["type"] == "order_update"
    assert update["orderid"] == orderid
    assert (update["symbol"], update["exchange"], update["action"], update["pricetype"], update["product"]) == \
        ("SBIN", "NSE", "BUY", "LIMIT", "CNC")
    assert (update["order_status"], update["quantity"], update["filled_quantity"], update["pending_quantity"]) == \
        ("open", 2, 0, 2)
    assert update["broker"] == "sandbox"
    assert update["mode"] == "analyze"
    assert update["rejection_reason"] == ""

    set_price("NSE", "SBIN", "789", bid="788.95", ask="789.05")  # the limit is crossed: the sandbox fills it
    filled = wait_for(lambda: [u for u in mine.get_orders()["orders"] if u["order_status"] == "complete"],
                      what="the fill's update")[0]
    assert (filled["orderid"], filled["filled_quantity"], filled["pending_quantity"], filled["average_price"]) == \
        (orderid, 2, 0, 790.0)

    resting = owner.v1("placeorder", {"strategy": "feed", "exchange": "NSE", "symbol": "SBIN", "action": "BUY",
                                       "quantity": "1", "pricetype": "LIMIT", "price": "700", "product": "CNC"})
    cancel = owner.v1("cancelorder", {"strategy": "feed", "orderid": resting.json()["orderid"]})
    assert cancel.status_code == 200, cancel.json()
    wait_for(lambda: [u for u in mine.get_orders()["orders"] if u["order_status"] == "cancelled"],
             what="the cancel's update")

    refused = owner.v1("placeorder", {"strategy": "feed", "exchange": "NSE", "symbol": "SBIN", "action": "BUY",
                                       "quantity": "900000", "pricetype": "MARKET", "product": "CNC"})
    assert refused.status_code == 400  # refused by the risk check: recorded as rejected, and pushed
    rejected = wait_for(lambda: [u for u in mine.get_orders()["orders"] if u["order_status"] == "rejected"],
                        what="the rejection's update")[0]
    assert rejected["rejection_reason"] == refused.json()["message"]

    statuses = [u["order_status"] for u in mine.get_orders()["orders"]]
    assert "complete" in statuses
    assert "cancelled" in statuses
    assert theirs.get_orders() == {"orders": []}  # never another user's orders
    assert mine.unsubscribe_orders() is True
    wait_for(lambda: owner.user.pk not in feed.hub.order_readers, what="the order subscription to go")


def test_order_updates_of_a_live_account_name_its_broker(feed, market, disconnect):
    from tests.api.conftest import persona
    from tests.factories import UserFactory
    from tests.trading.factories import TradingAccountFactory

    trader = persona(UserFactory(), analyze=False)  # live: orders go to the trading account's broker
    account = TradingAccountFactory(user=trader.user, name="desk")
    client = openalgo2_feed_api()(api_key=trader.key, host="http://127.0.0.1", ws_port=feed.port,
                                  auto_reconnect=False)
    assert client.connect() is True
    disconnect(client)
    assert client.subscribe_orders() is True
    wait_for(lambda: trader.user.pk in feed.hub.order_readers, what="the order subscription")
    placed = trader.v1("placeorder", {"strategy": "feed", "exchange": "NSE", "symbol": "SBIN", "action": "BUY",
                                      "quantity": "1", "pricetype": "MARKET", "product": "CNC"})
    assert placed.status_code == 200, placed.json()
    update = wait_for(lambda: client.get_orders()["orders"], what="the live order's update")[0]
    assert update["orderid"] == placed.json()["orderid"]
    assert (update["mode"], update["broker"]) == ("live", account.broker)
