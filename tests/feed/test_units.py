"""The protocol's pure parts: mode spellings, request forms, each mode's data, an order update's fields."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from decimal import Decimal

import pytest
from django.conf import settings

from feed import events, protocol
from feed.protocol import ProtocolError
from sandbox.services.prices import PriceQuote


@pytest.mark.parametrize(("given", "mode"), [(1, 1), (2, 2), (3, 3), ("LTP", 1), ("quote", 2), (" Depth ", 3),
                                             ("DEPTH", 3), ("2", 2)])
def test_every_spelling_of_a_mode(given, mode):
    assert protocol.mode_of(given) == mode


@pytest.mark.parametrize("given", [0, 4, True, None, "", "full", 2.0, [1]])
def test_a_bad_mode_is_invalid_mode(given):
    with pytest.raises(ProtocolError) as error:
        protocol.mode_of(given)
    assert error.value.code == "INVALID_MODE"


def test_the_flat_and_the_list_forms():
    assert protocol.requested_symbols({"symbol": "SBIN", "exchange": "NSE", "mode": 1}) == [
        {"symbol": "SBIN", "exchange": "NSE", "mode": 1}]
    listed = [{"symbol": "SBIN", "exchange": "NSE"}]
    assert protocol.requested_symbols({"symbols": listed}) == listed
    assert protocol.requested_symbols({}) == []
    with pytest.raises(ProtocolError):
        protocol.requested_symbols({"symbols": ["SBIN"]})
    assert protocol.instrument({"symbol": " sbin ", "exchange": "nse"}) == ("NSE", "SBIN")


def test_each_modes_data_from_a_stored_quote():
    at = dt.datetime(2026, 12, 1, 4, 0, tzinfo=dt.UTC)
    quote = PriceQuote("NSE", "SBIN", Decimal("808.00"), bid=Decimal("807.95"), ask=Decimal("808.05"), bid_qty=10,
                       ask_qty=15, open=Decimal("795"), high=Decimal("810"), low=Decimal("790"),
                       prev_close=Decimal("800"), volume=1234, updated_at=at)
    ltp, quote_data, depth = (protocol.store_tick_data(events.tick(quote))[m] for m in (1, 2, 3))
    assert ltp == {"ltp": 808.0, "ltt": int(at.timestamp() * 1000), "timestamp": int(at.timestamp() * 1000)}
    assert (quote_data["open"], quote_data["high"], quote_data["low"], quote_data["close"]) == (795, 810, 790, 800)
    assert (quote_data["change"], quote_data["change_percent"], quote_data["volume"]) == (8.0, 1.0, 1234)
    assert (quote_data["bid"], quote_data["ask"]) == (807.95, 808.05)
    assert depth["depth"]["buy"] == [{"price": 807.95, "quantity": 10, "orders": 1}] + [
        {"price": 0.0, "quantity": 0, "orders": 0}] * 4
    assert depth["totalsellqty"] == 15


def test_an_upstream_tick_serves_its_mode_and_the_lower_ones():
    tick = protocol.upstream_tick({"type": "market_data", "symbol": "SBIN", "exchange": "NSE", "mode": 2,
                                   "data": {"ltp": 1.5}}, "angel")
    assert tick.mode == 2
    assert '"mode":1' in tick.text(1)
    assert '"broker":"angel"' in tick.text(2)
    assert protocol.upstream_tick({"type": "market_data", "symbol": "SBIN", "exchange": "NSE", "mode": 9,
                                   "data": {}}, "x") is None


def test_an_order_updates_fields():
    row = {"user_id": 1, "account_id": None, "is_analyze": True, "kind": "order", "broker_order_id": "",
           "exchange": "NSE", "symbol": "SBIN", "action": "SELL", "quantity": Decimal("10"), "price": Decimal("0"),
           "trigger_price": Decimal("0"), "price_type": "MARKET", "product": "MIS", "status": "PARTIALLY_FILLED",
           "filled_quantity": Decimal("4"), "average_price": Decimal("801.2345"), "rejection_reason": "",
           "updated_at": None}
    payload = events.order_payload(row, 42)
    assert payload["orderid"] == "AD-42"  # no broker id yet: the order's reference
    assert (payload["order_status"], payload["filled_quantity"], payload["pending_quantity"]) == ("open", 4, 6)
    assert payload["average_price"] == 801.23
    assert payload["mode"] == "analyze"
    row.update(status="CANCELLED")
    assert events.order_payload(row, 42)["pending_quantity"] == 0


def test_deployments_on_one_redis_but_different_databases_do_not_share_the_feed_channels():
    # Redis's publish/subscribe ignores the database number: the channel layer's prefix must carry it.
    code = "from django.conf import settings; print(settings.CHANNEL_LAYERS['default']['CONFIG']['prefix'])"
    prefixes = []
    for url in ("redis://127.0.0.1:6379/3", "redis://127.0.0.1:6379/4", "redis://127.0.0.1:6379?db=4"):
        env = {**os.environ, "REDIS_URL": url, "CACHE_KEY_PREFIX": "desk"}
        prefixes.append(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                       check=True, cwd=settings.BASE_DIR).stdout.strip())
    assert prefixes == ["desk.feed.3", "desk.feed.4", "desk.feed.4"]
