"""OpenAlgo's feed protocol at the wire: authentication and its deadline, subscribe forms and modes,
answers, errors for bad messages (never a silent drop), ping, limits and a slow reader's drop."""
from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta

import pytest
import websockets
from django.utils import timezone

from accounts.models import ApiKey
from accounts.services import apikeys
from feed import limits
from sandbox.services.prices import set_price
from tests.feed.conftest import Raw, orm, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]


def run(coro):
    return asyncio.run(coro)


def test_it_closes_a_connection_that_does_not_authenticate_in_time_with_4401(feed, settings):
    settings.FEED_AUTH_TIMEOUT = 0.3

    async def scenario():
        async with Raw(feed.url) as client:
            assert (await client.ask({"action": "ping"}))["type"] == "pong"  # ping needs no key
            with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
                await client.recv(timeout=3)
            assert closed.value.rcvd.code == 4401
            assert closed.value.rcvd.reason == "auth timeout"

    run(scenario())


def test_an_authenticated_connection_outlives_the_deadline(feed, settings, owner):
    settings.FEED_AUTH_TIMEOUT = 0.3

    async def scenario():
        async with Raw(feed.url) as client:
            auth = await client.ask({"action": "authenticate", "apikey": owner.key})  # `apikey` accepted too
            assert auth["type"] == "auth"
            assert auth["status"] == "success"
            assert auth["user_id"] == owner.user.username
            assert auth["broker"] == "sandbox"
            assert auth["supported_features"]["orders"] is True
            await asyncio.sleep(0.6)
            assert (await client.ask({"action": "ping", "timestamp": 5}))["client_timestamp"] == 5

    run(scenario())


def test_bad_messages_get_errors_and_the_connection_stays(feed, owner):
    async def scenario():
        async with Raw(feed.url) as client:
            assert (await client.ask({"action": "subscribe", "symbol": "SBIN", "exchange": "NSE"}))["code"] == \
                "NOT_AUTHENTICATED"
            assert (await client.ask({"action": "authenticate", "api_key": "nope.nope"}))["code"] == \
                "AUTHENTICATION_ERROR"
            assert (await client.ask({"action": "authenticate"}))["message"] == "API key is required (api_key)"
            assert (await client.ask({"action": "authenticate", "api_key": owner.key}))["status"] == "success"
            assert (await client.ask("{not json"))["code"] == "INVALID_JSON"
            assert (await client.ask("[1, 2]"))["code"] == "INVALID_JSON"
            assert (await client.ask(b"\x00binary"))["code"] == "INVALID_MESSAGE"
            assert (await client.ask({"action": "dance"})) == {
                "status": "error", "code": "INVALID_ACTION", "message": "Invalid action: dance"}
            wrong_mode = await client.ask({"action": "subscribe", "symbol": "SBIN", "exchange": "NSE", "mode": 7})
            assert wrong_mode["code"] == "INVALID_MODE"
            assert "expected 1 (LTP)" in wrong_mode["message"]
            assert (await client.ask({"action": "subscribe", "mode": 1}))["code"] == "INVALID_PARAMETERS"
            assert (await client.ask({"action": "subscribe", "symbols": "SBIN"}))["code"] == "INVALID_PARAMETERS"
            assert (await client.ask({"action": "unsubscribe"}))["code"] == "INVALID_PARAMETERS"
            assert (await client.ask({"action": "authenticate", "api_key": owner.key}))["code"] == \
                "ALREADY_AUTHENTICATED"
            assert (await client.ask({"action": "ping"}))["type"] == "pong"

    run(scenario())


def test_three_wrong_keys_close_the_connection(feed):
    async def scenario():
        async with Raw(feed.url) as client:
            for _ in range(3):
                assert (await client.ask({"action": "auth", "api_key": "bad.key"}))["code"] == "AUTHENTICATION_ERROR"
            with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
                await client.recv(timeout=3)
            assert closed.value.rcvd.code == 4401

    run(scenario())


def test_subscribe_forms_modes_and_partial_answers(feed, owner):
    async def scenario():
        async with Raw(feed.url) as client:
            await client.ask({"action": "authenticate", "api_key": owner.key})
            answer = await client.ask({"action": "subscribe", "mode": "ltp", "request_id": "r1", "depth": 5,
                                       "symbols": [{"symbol": "SBIN", "exchange": "NSE"},
                                                   {"symbol": "X", "exchange": "NOWHERE"}, {"exchange": "NSE"}]})
            assert answer["type"] == "subscribe"
            assert answer["status"] == "partial"
            assert answer["request_id"] == "r1"
            ok, bad_exchange, no_symbol = answer["subscriptions"]
            assert ok == {"symbol": "SBIN", "exchange": "NSE", "status": "success", "mode": "LTP", "depth": 5,
                          "broker": "sandbox"}
            assert bad_exchange["status"] == "error"
            assert bad_exchange["message"].startswith("exchange: 'NOWHERE'")
            assert no_symbol["status"] == "error"
            assert no_symbol["message"].startswith("symbol:")
            snapshot = await client.recv()  # the stored quote, at once
            assert snapshot == {"type": "market_data", "symbol": "SBIN", "exchange": "NSE", "mode": 1,
                                "broker": "sandbox", "data": snapshot["data"]}
            assert snapshot["data"]["ltp"] == 800.0
            assert set(snapshot["data"]) == {"ltp", "ltt", "timestamp"}
            flat = await client.ask({"action": "subscribe", "symbol": "nifty30dec26fut", "exchange": "nfo",
                                     "mode": "DEPTH"})
            assert flat["status"] == "success"
            assert flat["subscriptions"][0]["symbol"] == "NIFTY30DEC26FUT"
            depth = (await client.recv())["data"]
            assert len(depth["depth"]["buy"]) == len(depth["depth"]["sell"]) == 5
            assert depth["depth"]["buy"][0] == {"price": 23999.9, "quantity": 0, "orders": 0}
            assert depth["depth"]["sell"][1] == {"price": 0.0, "quantity": 0, "orders": 0}
            gone = await client.ask({"action": "unsubscribe", "symbols": [{"symbol": "SBIN", "exchange": "NSE",
                                                                           "mode": 1}]})
            assert gone["status"] == "success"
            assert gone["successful"][0]["symbol"] == "SBIN"
            assert feed.hub.index.get(("store", "NSE", "SBIN")) is None
            everything = await client.ask({"action": "unsubscribe_all"})
            assert everything["type"] == "unsubscribe"
            assert everything["status"] == "success"
            assert not feed.hub.index

    run(scenario())


def test_a_higher_modes_tick_serves_every_lower_mode(feed, owner):
    async def scenario():
        async with Raw(feed.url) as client:
            await client.ask({"action": "authenticate", "api_key": owner.key})
            for mode in (1, 2, 3):
                await client.ask({"action": "subscribe", "symbol": "SBIN", "exchange": "NSE", "mode": mode})
                await client.recv()  # snapshot
            await orm(set_price, "NSE", "SBIN", "801.5", bid="801.45", ask="801.55", bid_qty=10,
                                    ask_qty=20, volume=7000)
            ticks = {}
            while len(ticks) < 3:
                tick = await client.until(lambda m: m.get("type") == "market_data" and m["data"]["ltp"] == 801.5)
                ticks[tick["mode"]] = tick["data"]
            assert set(ticks[1]) == {"ltp", "ltt", "timestamp"}
            quote = ticks[2]
            assert (quote["open"], quote["high"], quote["low"], quote["close"]) == (800.0, 801.5, 800.0, 0.0)
            assert (quote["bid"], quote["ask"], quote["volume"]) == (801.45, 801.55, 7000)
            assert ticks[3]["depth"]["buy"][0] == {"price": 801.45, "quantity": 10, "orders": 1}
            assert ticks[3]["depth"]["sell"][0] == {"price": 801.55, "quantity": 20, "orders": 1}

    run(scenario())


def test_the_symbol_limit_and_the_connections_per_key_limit(feed, settings, owner):
    settings.FEED_MAX_SYMBOLS_PER_CONNECTION = 2
    settings.FEED_MAX_CONNECTIONS_PER_KEY = 1

    async def scenario():
        async with Raw(feed.url) as first, Raw(feed.url) as second:
            await first.ask({"action": "authenticate", "api_key": owner.key})
            answer = await first.ask({"action": "subscribe", "mode": 1, "symbols": [
                {"symbol": s, "exchange": "NSE"} for s in ("SBIN", "INFY", "TCS")]})
            assert answer["status"] == "partial"
            assert [s["status"] for s in answer["subscriptions"]] == ["success", "success", "error"]
            assert answer["subscriptions"][2]["code"] == "SYMBOL_LIMIT"
            refused = await second.ask({"action": "authenticate", "api_key": owner.key})
            assert refused["code"] == "CONNECTION_LIMIT"
            with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
                await second.recv(timeout=3)
            assert closed.value.rcvd.code == 1008

    run(scenario())


@pytest.mark.parametrize("how", ["revoked", "expired", "user deactivated"])
def test_a_key_that_stops_verifying_closes_its_open_connection_with_4401(feed, settings, owner, how):
    settings.FEED_REAUTH_SECONDS = 0.2

    def spoil():
        key = ApiKey.objects.get(user=owner.user)
        if how == "revoked":
            apikeys.revoke(key)
        elif how == "expired":
            apikeys.change(key, expires_at=timezone.now() - timedelta(seconds=1))
        else:
            owner.user.is_active = False
            owner.user.save(update_fields=["is_active"])

    async def scenario():
        async with Raw(feed.url) as client:
            await client.ask({"action": "authenticate", "api_key": owner.key})
            await client.ask({"action": "subscribe_orders"})
            await asyncio.sleep(0.5)  # re-checked and still good: the connection stays
            assert (await client.ask({"action": "ping"}))["type"] == "pong"
            [reader] = feed.hub.order_readers[owner.user.pk]
            await orm(spoil)
            with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
                await client.until(lambda m: False, timeout=3)
            assert closed.value.rcvd.code == 4401
            assert closed.value.rcvd.reason == "API key revoked or expired, or its user deactivated"
            assert owner.user.pk not in feed.hub.order_readers  # no order update reaches it any more
            assert not reader.offer("{}")

    run(scenario())


def test_a_re_check_that_cannot_reach_the_cache_keeps_the_connection(feed, settings, owner, monkeypatch):
    settings.FEED_REAUTH_SECONDS = 0.1

    def out(key, **kwargs):
        raise ConnectionError("the cache is out")

    async def scenario():
        async with Raw(feed.url) as client:
            await client.ask({"action": "authenticate", "api_key": owner.key})
            monkeypatch.setattr(apikeys, "verify_with_user", out)
            await asyncio.sleep(0.4)  # several re-checks fail: an outage is no reason to drop a client
            assert (await client.ask({"action": "ping"}))["type"] == "pong"
            monkeypatch.undo()
            await orm(apikeys.revoke, await orm(ApiKey.objects.get, user=owner.user))
            with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
                await client.until(lambda m: False, timeout=3)
            assert closed.value.rcvd.code == 4401

    run(scenario())


def test_the_connections_per_key_limit_holds_across_feed_processes(feed, settings, owner):
    settings.FEED_MAX_CONNECTIONS_PER_KEY = 2
    key_id = ApiKey.objects.get(user=owner.user).pk

    async def scenario():
        assert await asyncio.to_thread(limits.take, key_id, 2)  # another feed process holds one
        async with Raw(feed.url) as first:
            assert (await first.ask({"action": "authenticate", "api_key": owner.key}))["status"] == "success"
            assert await asyncio.to_thread(limits.count, key_id) == 2
            async with Raw(feed.url) as second:
                refused = await second.ask({"action": "authenticate", "api_key": owner.key})
                assert refused["code"] == "CONNECTION_LIMIT"
        await asyncio.to_thread(wait_for, lambda: limits.count(key_id) == 1, 5, "the closed connection's release")
        await asyncio.to_thread(limits.give_back, key_id)  # the other process's connection closes too
        async with Raw(feed.url) as first, Raw(feed.url) as second:
            for client in (first, second):
                assert (await client.ask({"action": "authenticate", "api_key": owner.key}))["status"] == "success"

    run(scenario())


def test_a_crashed_processs_count_runs_out_with_its_ttl(monkeypatch):
    monkeypatch.setattr(limits, "ttl", lambda: 1)  # FEED_REAUTH_SECONDS * 2 + 30 s in production
    assert limits.take(7, 1)
    assert not limits.take(7, 1)  # the process holding it dies: nobody gives it back or refreshes it
    time.sleep(1.2)
    assert limits.take(7, 1)


def test_a_slow_reader_is_dropped_with_a_reason_and_the_others_keep_their_ticks(feed, settings, owner):
    settings.FEED_SEND_QUEUE = 10

    async def scenario():
        async with Raw(feed.url) as good:
            await good.ask({"action": "authenticate", "api_key": owner.key})
            await good.ask({"action": "subscribe", "symbol": "SBIN", "exchange": "NSE", "mode": 1})
            # A reader that never reads: its socket buffers fill, then its queue, then it is dropped.
            slow = await websockets.connect(feed.url, max_queue=1)
            await slow.send(json.dumps({"action": "authenticate", "api_key": owner.key}))
            await slow.send(json.dumps({"action": "subscribe", "symbol": "SBIN", "exchange": "NSE", "mode": 3}))
            await asyncio.sleep(0.2)
            [slow_client] = [c for c in feed.hub.index[("store", "NSE", "SBIN")] if 3 in
                             feed.hub.index[("store", "NSE", "SBIN")][c]]
            big = "x" * 60000
            for n in range(400):  # as if the ticks came in faster than it reads
                if not slow_client.offer(json.dumps({"type": "market_data", "pad": big, "n": n})):
                    break
            assert slow_client.closing
            assert slow_client not in feed.hub.index[("store", "NSE", "SBIN")]
            await orm(set_price, "NSE", "SBIN", "802")
            tick = await good.until(lambda m: m.get("type") == "market_data" and m["data"]["ltp"] == 802.0)
            assert tick["mode"] == 1
            slow.transport.abort()

    run(scenario())


def price_reaches_a_subscriber(feed, owner, ltp: str) -> None:
    async def scenario():
        async with Raw(feed.url) as client:
            await client.ask({"action": "authenticate", "api_key": owner.key})
            await client.ask({"action": "subscribe", "symbol": "SBIN", "exchange": "NSE", "mode": 1})
            await orm(set_price, "NSE", "SBIN", ltp)
            await client.until(lambda m: m.get("type") == "market_data" and m["data"]["ltp"] == float(ltp))

    run(scenario())


def test_prices_travel_over_the_unix_socket_without_redis(feed, settings, owner):
    if settings.REDIS_URL:
        pytest.skip("with REDIS_URL the channel layer carries them (the next test)")
    from feed.bus import SocketReceiver

    assert isinstance(feed.server.config.app.receiver, SocketReceiver)
    assert feed.server.config.app.receiver.path == settings.FEED_SOCKET
    price_reaches_a_subscriber(feed, owner, "805")


@pytest.mark.redis
def test_prices_travel_over_the_redis_channel_layer(feed, owner):
    from channels.layers import get_channel_layer

    from feed.bus import LayerReceiver

    assert get_channel_layer() is not None
    assert isinstance(feed.server.config.app.receiver, LayerReceiver)
    price_reaches_a_subscriber(feed, owner, "806")
