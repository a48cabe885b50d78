"""Linked accounts' upstream feeds: one upstream subscription per instrument however many clients want it,
released with the last; failover to the next account when the primary's feed drops (subscriptions replayed),
fail-back when it answers again; each connection and switch recorded (WebSocketConnection, FailoverEvent)."""
from __future__ import annotations

import asyncio
import time

import pytest

from brokers.models import ConnectionStatus, FailoverEvent, TradingAccount, WebSocketConnection
from tests.api.conftest import persona
from tests.factories import UserFactory
from tests.feed.conftest import Raw, orm
from tests.feed.upstream_server import FakeUpstream
from tests.trading.factories import TradingAccountFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]


@pytest.fixture
def upstreams():
    primary, backup = FakeUpstream("key-a", broker="zerodha").start(), FakeUpstream("key-b", broker="angel").start()
    yield primary, backup
    primary.close()
    backup.close()


@pytest.fixture
def live_trader(market, upstreams):
    """A trader trading live (not analyze mode) with two linked accounts that have feeds."""
    primary, backup = upstreams
    trader = persona(UserFactory(), analyze=False)
    a = TradingAccountFactory(user=trader.user, name="main", broker="openalgo", is_primary=True, priority=1,
                              credentials={"host_url": "http://127.0.0.1:9", "websocket_url": primary.url,
                                           "api_key": "key-a"})
    b = TradingAccountFactory(user=trader.user, name="spare", broker="openalgo", is_primary=False, priority=2,
                              credentials={"host_url": "http://127.0.0.1:9", "websocket_url": backup.url,
                                           "api_key": "key-b"})
    return trader, a, b


async def eventually(predicate, timeout: float = 8.0, what: str = "the condition"):
    deadline = time.monotonic() + timeout
    while not await orm(predicate):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def tick_of(ltp: float):
    return lambda m: m.get("type") == "market_data" and m["data"]["ltp"] == ltp


def test_failover_to_the_next_account_and_back_to_the_primary(feed, settings, upstreams, live_trader):
    settings.FEED_UPSTREAM_RETRY_SECONDS = 0.3
    settings.FEED_UPSTREAM_HEARTBEAT_SECONDS = 0.5
    primary, backup = upstreams
    trader, a, b = live_trader
    sbin = ("NSE", "SBIN")

    async def scenario():
        async with Raw(feed.url) as one, Raw(feed.url) as two:
            auth = await one.ask({"action": "authenticate", "api_key": trader.key})
            assert auth["broker"] == "openalgo"
            await two.ask({"action": "authenticate", "api_key": trader.key})
            assert (await one.ask({"action": "subscribe", "symbol": "SBIN", "exchange": "NSE", "mode": 1}))[
                "status"] == "success"
            assert (await two.ask({"action": "subscribe", "symbol": "SBIN", "exchange": "NSE", "mode": 2}))[
                "status"] == "success"
            await eventually(lambda: primary.wanted == {sbin: 2}, what="the primary's subscription")
            subscribes = [m for m in primary.log if m.get("action") == "subscribe"]
            assert len(primary.connections) == 1  # one upstream connection for both clients
            # once at the highest mode wanted (a second time only if the LTP client came first and got mode 1)
            assert [m["symbols"] for m in subscribes] in ([[{"exchange": "NSE", "symbol": "SBIN"}]] * n for n in (1, 2))
            assert backup.connections == set()

            assert primary.push("NSE", "SBIN", 101.5) == 1
            ltp = await one.until(tick_of(101.5))
            quote = await two.until(tick_of(101.5))
            assert (ltp["mode"], quote["mode"], quote["broker"]) == (1, 2, "zerodha")
            assert quote["data"]["open"] == 101.5

            primary.stop()  # the primary's feed drops: the backup takes over with the same subscriptions
            await eventually(lambda: backup.wanted == {sbin: 2}, what="the subscriptions replayed on the backup")
            backup.push("NSE", "SBIN", 102.0)
            assert (await one.until(tick_of(102.0)))["broker"] == "angel"
            await two.until(tick_of(102.0))
            switched = await orm(lambda: list(FailoverEvent.objects.filter(user=trader.user)))
            assert [(e.kind, e.from_account_id, e.to_account_id, e.success) for e in switched] == [
                ("failover", a.pk, b.pk, True)]
            assert "main's feed dropped" in switched[0].reason

            primary.start()  # healthy again: the feed fails back to it
            await eventually(lambda: primary.wanted == {sbin: 2}, what="the fail-back")
            await eventually(lambda: not backup.connections, what="the backup's connection to close")
            primary.push("NSE", "SBIN", 103.0)
            assert (await one.until(tick_of(103.0)))["broker"] == "zerodha"
            back = await orm(lambda: FailoverEvent.objects.filter(user=trader.user).first())
            assert (back.kind, back.from_account_id, back.to_account_id) == ("failback", b.pk, a.pk)
            assert "fail-back" in back.reason

            await two.ask({"action": "unsubscribe_all"})  # the Quote reader leaves: LTP is all that is wanted
            await eventually(lambda: primary.wanted == {sbin: 1}, what="the upstream mode to step down")
        # the last client has gone: the instrument is released and the upstream connection closed
        await eventually(lambda: not primary.connections, what="the upstream to be released")
        await eventually(lambda: not WebSocketConnection.objects.filter(status=ConnectionStatus.CONNECTED).exists(),
                         what="the connections' rows to be closed")

    asyncio.run(scenario())
    rows = {row.account_id: row for row in WebSocketConnection.objects.filter(account__in=[a, b]).order_by("id")}
    assert set(rows) == {a.pk, b.pk}
    assert WebSocketConnection.objects.filter(account=a).count() == 2  # before the drop, and after the fail-back
    for row in WebSocketConnection.objects.filter(account__in=[a, b]):
        assert row.status == ConnectionStatus.DISCONNECTED
        assert row.connected_at <= row.disconnected_at
        assert row.messages_received >= 2  # the answer to authenticate is read before; then acks and ticks
        assert row.last_heartbeat is not None
    # the feed records its own switches and never moves the trading primary (the REST health checks do)
    assert TradingAccount.objects.get(pk=a.pk).is_primary


def test_an_upstream_that_refuses_the_key_is_skipped_and_recorded(feed, settings, upstreams, live_trader):
    settings.FEED_UPSTREAM_RETRY_SECONDS = 0.3
    primary, backup = upstreams
    trader, a, b = live_trader
    TradingAccount.objects.filter(pk=a.pk).update(credentials={"host_url": "http://127.0.0.1:9",
                                                               "websocket_url": primary.url, "api_key": "wrong"})

    async def scenario():
        async with Raw(feed.url) as client:
            await client.ask({"action": "authenticate", "api_key": trader.key})
            await client.ask({"action": "subscribe", "symbol": "INFY", "exchange": "NSE", "mode": "Quote"})
            await eventually(lambda: backup.wanted == {("NSE", "INFY"): 2}, what="the backup to serve")
            backup.push("NSE", "INFY", 1500.0)
            assert (await client.until(tick_of(1500.0)))["mode"] == 2
            info = await client.ask({"action": "get_broker_info"})
            assert info["adapter_status"] == "connected"
        await eventually(lambda: not WebSocketConnection.objects.filter(status=ConnectionStatus.CONNECTED).exists(),
                         what="the released upstream's row to be closed")

    asyncio.run(scenario())
    [event] = FailoverEvent.objects.filter(user=trader.user)
    assert (event.kind, event.from_account_id, event.to_account_id) == ("failover", a.pk, b.pk)
    assert "authentication refused: Invalid API key" in event.error
    assert not WebSocketConnection.objects.filter(account=a).exists()
    assert WebSocketConnection.objects.get(account=b).status == ConnectionStatus.DISCONNECTED
