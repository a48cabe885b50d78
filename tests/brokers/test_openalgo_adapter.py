"""The OpenAlgo adapter against httpx.MockTransport: request shapes, response mapping, error classes."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx
import pytest

from brokers.adapters.base import (
    AdapterContext,
    BrokerError,
    BrokerUnavailable,
    OrderNotFound,
    OrderRejected,
    OrderSpec,
)
from brokers.adapters.openalgo import OpenAlgoAdapter, client_for

HOST = "http://openalgo.test:5000"
CREDS = {"host_url": HOST + "/", "websocket_url": "ws://openalgo.test:8765", "api_key": "oa-key"}


def adapter_with(handler, credentials=CREDS) -> tuple[OpenAlgoAdapter, list[tuple[str, dict]]]:
    seen: list[tuple[str, dict]] = []

    def record(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content or b"{}")
        seen.append((request.url.path, body))
        return handler(request.url.path.removeprefix("/api/v1/"), body)

    client = httpx.Client(base_url=HOST, transport=httpx.MockTransport(record))
    return OpenAlgoAdapter(AdapterContext(user_id=1, account_id=2, credentials=credentials), client=client), seen


def ok(**body) -> httpx.Response:
    return httpx.Response(200, json={"status": "success", **body})


def test_place_order_posts_openalgo_json_with_the_apikey_and_exact_numbers():
    adapter, seen = adapter_with(lambda path, body: ok(orderid="250101000000123"))
    result = adapter.place_order(OrderSpec(exchange="NSE", symbol="SBIN", action="buy", quantity=Decimal("10"),
                                              price_type="LIMIT", product="CNC", price=Decimal("812.55")))
    assert result.broker_order_id == "250101000000123"
    assert result.status == "OPEN"
    path, body = seen[0]
    assert path == "/api/v1/placeorder"
    assert body == {"apikey": "oa-key", "strategy": "AlgoDesk", "exchange": "NSE", "symbol": "SBIN",
                    "action": "BUY", "quantity": "10", "pricetype": "LIMIT", "product": "CNC",
                    "price": "812.55", "trigger_price": "0", "disclosed_quantity": "0"}


def test_modify_and_cancel_send_the_order_id():
    adapter, seen = adapter_with(lambda path, body: ok(orderid=body["orderid"]))
    adapter.modify_order(OrderSpec(order_id="42", exchange="NSE", symbol="SBIN", action="BUY",
                                       quantity=Decimal("5"), price_type="LIMIT", product="MIS",
                                       price=Decimal("800"), strategy="mine"))
    result = adapter.cancel_order("42")
    assert [p for p, _ in seen] == ["/api/v1/modifyorder", "/api/v1/cancelorder"]
    assert seen[0][1]["orderid"] == "42"
    assert seen[0][1]["strategy"] == "mine"
    assert (result.broker_order_id, result.status) == ("42", "CANCELLED")


@pytest.mark.parametrize(("text", "status"), [
    ("open", "OPEN"), ("complete", "COMPLETE"), ("trigger pending", "TRIGGER_PENDING"),
    ("rejected", "REJECTED"), ("cancelled", "CANCELLED"), ("Complete", "COMPLETE"), ("something new", "OPEN"),
])
def test_order_book_maps_order_status_strings(text, status):
    row = {"action": "SELL", "exchange": "NFO", "order_status": text, "orderid": "7", "price": 101.35,
           "pricetype": "LIMIT", "product": "NRML", "quantity": "75", "symbol": "NIFTY29DEC26FUT",
           "timestamp": "23-Nov-2026 10:15:30", "trigger_price": 0, "average_price": "101.35"}
    adapter, _ = adapter_with(lambda path, body: ok(data={"orders": [row], "statistics": {}}))
    [info] = adapter.order_book()
    assert info.status == status
    assert info.quantity == Decimal("75")
    assert info.price == Decimal("101.35")  # from a JSON float, exactly
    assert info.timestamp == datetime(2026, 11, 23, 10, 15, 30, tzinfo=ZoneInfo("Asia/Kolkata"))
    assert info.filled_quantity == (Decimal("75") if status == "COMPLETE" else Decimal("0"))


def test_order_status_maps_the_data_block():
    adapter, seen = adapter_with(lambda path, body: ok(data={
        "action": "BUY", "average_price": "812.4", "exchange": "NSE", "order_status": "complete",
        "orderid": "9", "price": "0", "pricetype": "MARKET", "product": "MIS", "quantity": "10",
        "symbol": "SBIN", "timestamp": "2026-11-23 09:20:01", "trigger_price": "0"}))
    info = adapter.order_status("9")
    assert seen[0][1]["orderid"] == "9"
    assert (info.status, info.average_price, info.filled_quantity) == ("COMPLETE", Decimal("812.4"), Decimal("10"))


def test_books_funds_and_market_data_map_to_decimals():
    responses = {
        "tradebook": ok(data=[{"action": "BUY", "symbol": "SBIN", "exchange": "NSE", "orderid": "9",
                               "product": "MIS", "quantity": "10", "average_price": "812.40",
                               "timestamp": "09:20:01 23-11-2026", "trade_value": "8124"}]),
        "positionbook": ok(data=[{"symbol": "SBIN", "exchange": "NSE", "product": "MIS", "quantity": "-10",
                                  "average_price": "812.40", "ltp": "810.00", "pnl": "24.00"},
                                 {"symbol": "TCS", "exchange": "NSE", "product": "MIS", "quantity": "0",
                                  "average_price": "0", "ltp": "4100", "pnl": "-55.5"}]),
        "holdings": ok(data={"holdings": [{"symbol": "INFY", "exchange": "NSE", "product": "CNC",
                                           "quantity": 10, "pnl": 1000, "pnlpercent": 10}], "statistics": {}}),
        "funds": ok(data={"availablecash": "100000.50", "collateral": "0.00", "m2mrealized": "-24.75",
                          "m2munrealized": "10", "utiliseddebits": "5000.25"}),
        "quotes": ok(data={"open": 800, "high": 815.5, "low": 799.05, "ltp": "810.1", "ask": 810.15,
                           "bid": 810.05, "prev_close": 805, "volume": 123456}),
        "depth": ok(data={"ltp": 810.1, "ltq": 5, "oi": 0, "volume": 10, "totalbuyqty": 900, "totalsellqty": 800,
                          "bids": [{"price": 810.05, "quantity": 100}, {"price": 810.0, "quantity": 50}],
                          "asks": [{"price": 810.15, "quantity": 70}]}),
        "history": ok(data=[{"timestamp": 1795407300, "open": 800, "high": 805, "low": 799.5, "close": 804.25,
                             "volume": 1000}]),
        "ping": ok(data={"message": "pong", "broker": "zerodha"}),
    }
    adapter, _ = adapter_with(lambda path, body: responses[path])
    [trade] = adapter.trade_book()
    assert (trade.price, trade.value) == (Decimal("812.40"), Decimal("8124.00"))
    assert trade.timestamp.tzinfo is not None
    short, flat = adapter.positions()
    assert (short.quantity, short.unrealized_pnl, short.realized_pnl) == (Decimal("-10"), Decimal("24.00"), 0)
    assert (flat.realized_pnl, flat.pnl) == (Decimal("-55.5"), Decimal("-55.5"))
    [holding] = adapter.holdings()
    assert (holding.average_price, holding.ltp, holding.pnl) == (Decimal("1000.00"), Decimal("1100.00"),
                                                                 Decimal("1000.00"))
    funds = adapter.funds()
    assert (funds.available_cash, funds.m2m_realized, funds.utilised_debits) == (
        Decimal("100000.50"), Decimal("-24.75"), Decimal("5000.25"))
    quote = adapter.quotes("NSE", "SBIN")
    assert (quote.ltp, quote.low, quote.bid, quote.volume) == (Decimal("810.1"), Decimal("799.05"),
                                                               Decimal("810.05"), 123456)
    depth = adapter.depth("NSE", "SBIN")
    assert [level.price for level in depth.bids] == [Decimal("810.05"), Decimal("810.0")]
    assert (depth.quote.bid, depth.quote.ask, depth.total_buy_qty) == (Decimal("810.05"), Decimal("810.15"), 900)
    [candle] = adapter.history("NSE", "SBIN", "5m", "2026-11-23", "2026-11-23")
    assert candle.timestamp == datetime.fromtimestamp(1795407300, tz=UTC)
    assert candle.close == Decimal("804.25")
    assert adapter.ping() == "openalgo:zerodha"


def test_order_errors_are_permanent_rejections_with_the_servers_message():
    adapter, _ = adapter_with(lambda path, body: httpx.Response(
        400, json={"status": "error", "message": "Quantity must be a positive number"}))
    with pytest.raises(OrderRejected) as info:
        adapter.place_order(OrderSpec(exchange="NSE", symbol="SBIN", action="BUY", quantity=Decimal("1")))
    assert info.value.permanent
    assert info.value.message == "Quantity must be a positive number"


def test_an_invalid_apikey_rejects_the_order_permanently():
    adapter, _ = adapter_with(lambda path, body: httpx.Response(
        403, json={"status": "error", "message": "Invalid openalgo apikey"}))
    with pytest.raises(OrderRejected, match="Invalid openalgo apikey"):
        adapter.cancel_order("1")
    with pytest.raises(BrokerError, match="Invalid openalgo apikey") as info:
        adapter.funds()
    assert info.value.permanent
    assert not isinstance(info.value, OrderRejected)


def test_a_status_error_with_http_200_is_a_rejection():
    adapter, _ = adapter_with(lambda path, body: ok() if path != "placeorder" else httpx.Response(
        200, json={"status": "error", "message": "RMS: margin exceeds"}))
    with pytest.raises(OrderRejected, match="RMS: margin exceeds"):
        adapter.place_order(OrderSpec(exchange="NSE", symbol="SBIN", action="BUY", quantity=Decimal("1")))


def test_unknown_orders_raise_order_not_found():
    adapter, _ = adapter_with(lambda path, body: httpx.Response(404, json={"status": "error",
                                                                           "message": "Order not found"}))
    with pytest.raises(OrderNotFound, match="Order not found"):
        adapter.order_status("404")


@pytest.mark.parametrize("response", [
    httpx.Response(500, json={"status": "error", "message": "broker session expired"}),
    httpx.Response(502, text="<html>Bad gateway</html>"),
    httpx.Response(503, text=""),
    httpx.Response(429, json={"status": "error", "message": "Rate limit exceeded", "retry_after": 1}),
    httpx.Response(200, text="<html>login</html>"),
])
def test_server_faults_are_transient(response):
    adapter, _ = adapter_with(lambda path, body: response)
    with pytest.raises(BrokerUnavailable) as info:
        adapter.place_order(OrderSpec(exchange="NSE", symbol="SBIN", action="BUY", quantity=Decimal("1")))
    assert info.value.permanent is False


@pytest.mark.parametrize(("error", "sent"), [
    (httpx.ConnectError("refused"), False), (httpx.ConnectTimeout("slow"), False),
    (httpx.ReadTimeout("slow"), True), (httpx.RemoteProtocolError("closed"), True),
])
def test_transport_failures_are_transient_and_say_whether_the_order_may_exist(error, sent):
    def handler(path, body):
        raise error

    adapter, _ = adapter_with(handler)
    with pytest.raises(BrokerUnavailable) as info:
        adapter.place_order(OrderSpec(exchange="NSE", symbol="SBIN", action="BUY", quantity=Decimal("1")))
    assert not info.value.permanent
    assert info.value.data["sent"] is sent
    assert ("may have reached the broker" in info.value.message) is sent


def test_a_malformed_number_is_reported_not_guessed():
    adapter, _ = adapter_with(lambda path, body: ok(data={"availablecash": "lots"}))
    with pytest.raises(BrokerUnavailable, match="availablecash"):
        adapter.funds()


def test_missing_credentials_are_a_permanent_error():
    adapter = OpenAlgoAdapter(AdapterContext(user_id=1, credentials={"host_url": HOST}))
    with pytest.raises(BrokerError, match="api_key") as info:
        adapter.ping()
    assert info.value.permanent
    adapter = OpenAlgoAdapter(AdapterContext(user_id=1, credentials={"host_url": "openalgo.test", "api_key": "k"}))
    with pytest.raises(BrokerError, match="host_url"):
        adapter.ping()


def test_validate_credentials_names_the_fields():
    problems = OpenAlgoAdapter.validate_credentials({"host_url": "ftp://x", "websocket_url": "http://x"})
    assert set(problems) == {"host_url", "websocket_url", "api_key"}
    assert OpenAlgoAdapter.validate_credentials(CREDS) == {}


def test_one_pooled_client_per_host_with_the_configured_timeouts(settings):
    settings.OPENALGO_CONNECT_TIMEOUT = 2.5
    settings.OPENALGO_READ_TIMEOUT = 7
    first, again, other = client_for(HOST), client_for(HOST), client_for("http://other.test")
    assert first is again
    assert first is not other
    assert (first.timeout.connect, first.timeout.read) == (2.5, 7.0)


def test_intervals_are_the_upstreams_groups_flattened():
    served = {"months": ["M"], "weeks": ["W"], "days": ["D"], "hours": ["1h"], "minutes": ["1m", "5m"],
              "seconds": []}
    adapter, seen = adapter_with(lambda path, body: ok(data=served))
    assert adapter.intervals() == ["M", "W", "D", "1h", "1m", "5m"]
    assert seen[0][0] == "/api/v1/intervals"
