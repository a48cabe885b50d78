"""AlgoDesk speaks OpenAlgo: the official client works against it unchanged, and AlgoDesk's own
openalgo adapter can use another AlgoDesk (here: this one, on a live server) as its broker."""
import pytest
from openalgo import api

from brokers.adapters.openalgo import close_clients
from sandbox.models import SandboxOrder
from tests.trading.conftest import make_trader, order
from tests.trading.factories import TradingAccountFactory
from trading.models import Order, OrderStatus

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]


@pytest.fixture(autouse=True)
def _fresh_http_clients():
    # The adapter pools a client per host; the live server's port is gone after the test.
    yield
    close_clients()


def test_the_official_client_places_an_order_and_reads_it_back(live_server, market):
    trader = make_trader()
    client = api(api_key=trader.key, host=live_server.url)
    placed = client.placeorder(strategy="py", symbol="SBIN", action="BUY", exchange="NSE", price_type="MARKET",
                               product="MIS", quantity=4)
    assert placed["status"] == "success", placed
    assert placed["mode"] == "analyze"
    orderid = placed["orderid"]
    status = client.orderstatus(order_id=orderid, strategy="py")
    assert status["status"] == "success", status
    assert status["data"]["order_status"] == "complete"
    assert status["data"]["quantity"] == 4
    book = client.orderbook()
    assert book["status"] == "success", book
    assert [o["orderid"] for o in book["data"]["orders"]] == [orderid]
    limit = client.placeorder(strategy="py", symbol="SBIN", action="BUY", exchange="NSE", price_type="LIMIT",
                              product="MIS", quantity=1, price=700)
    assert client.cancelorder(order_id=limit["orderid"], strategy="py")["status"] == "success"
    assert client.openposition(strategy="py", symbol="SBIN", exchange="NSE", product="MIS")["quantity"] == 4
    bad = client.placeorder(strategy="py", symbol="SBIN", action="HOLD", exchange="NSE", quantity=1)
    assert bad["status"] == "error"
    assert "action: must be one of BUY, SELL" in bad["message"]


def test_the_openalgo_adapter_uses_another_algodesk_as_its_broker(live_server, market):
    upstream = make_trader()  # in analyze mode: the upstream fills in its sandbox
    downstream = make_trader(analyze=False)
    account = TradingAccountFactory(user=downstream.user, broker="openalgo", name="upstream",
                                    credentials={"host_url": live_server.url, "api_key": upstream.key})
    response = downstream.post("placeorder", order(quantity="6", strategy="mirror"))
    assert response.status_code == 200, response.json()
    orderid = response.json()["orderid"]
    mine = Order.objects.get(user=downstream.user)
    assert mine.account == account
    assert mine.broker_order_id == orderid
    theirs = Order.objects.get(user=upstream.user)  # the upstream recorded it as an order of its own
    assert theirs.is_analyze
    assert theirs.broker_order_id == orderid
    assert SandboxOrder.objects.get(order_id=orderid).user_id == upstream.user.pk
    status = downstream.post("orderstatus", {"strategy": "mirror", "orderid": orderid})
    assert status.status_code == 200, status.json()
    assert status.json()["data"]["order_status"] == "complete"
    mine.refresh_from_db()
    assert mine.status == OrderStatus.COMPLETE  # refreshed from the upstream's answer
    refused = downstream.post("placeorder", order(quantity="100000000"))
    assert refused.status_code == 400  # the upstream's refusal comes back as a refusal
