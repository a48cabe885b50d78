"""The price store and its feeds: set, replay (ticks and bars), the seeded random walk."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command

from sandbox.models import LastPrice, OrderStatus, SandboxOrder
from sandbox.services import feeds
from sandbox.services.prices import cache_key, set_price, stored_quote
from tests.sandbox.factories import InstrumentFactory, ist

pytestmark = pytest.mark.django_db


def test_set_price_writes_cache_and_table_on_the_tick_grid(sbin):
    set_price("NSE", "SBIN", D("812.52"))
    row = LastPrice.objects.get(exchange="NSE", symbol="SBIN")
    assert row.ltp == D("812.50")  # 0.05 tick
    assert cache.get(cache_key("NSE", "SBIN")).ltp == D("812.50")
    cache.clear()
    assert stored_quote("NSE", "SBIN").ltp == D("812.50")  # the table is behind the cache


def test_day_ohlc_rolls_over_on_a_new_ist_day(sbin):
    set_price("NSE", "SBIN", D("800"), at=ist(9, 15))
    set_price("NSE", "SBIN", D("820"), at=ist(10, 0))
    set_price("NSE", "SBIN", D("790"), at=ist(11, 0))
    q = stored_quote("NSE", "SBIN")
    assert (q.open, q.high, q.low, q.ltp) == (D("800"), D("820"), D("790"), D("790"))
    q = set_price("NSE", "SBIN", D("795"), at=ist(9, 15) + dt.timedelta(days=1))
    assert (q.open, q.high, q.low, q.prev_close) == (D("795"), D("795"), D("795"), D("790"))


def test_prices_set_command_sets_several_and_matches(sandbox):
    set_price("NSE", "SBIN", D("800"))
    resting = sandbox.place("SBIN", "BUY", 1, price_type="LIMIT", price="795")
    InstrumentFactory(exchange="MCX", symbol="GOLDM05DEC24FUT", instrument_type="FUT", tick_size="1")
    out = StringIO()
    call_command("prices", "set", "NSE:SBIN=794.5", "mcx:goldm05dec24fut=76250.4", stdout=out)
    assert "MCX:GOLDM05DEC24FUT = 76250" in out.getvalue()
    assert SandboxOrder.objects.get(order_id=resting.broker_order_id).status == OrderStatus.COMPLETE


@pytest.mark.parametrize(("arg", "message"), [
    ("NSE:SBIN=abc", "NSE:SBIN.*not a number"), ("NSE:SBIN=-5", "NSE:SBIN.*positive"),
    ("SBIN=5", "'SBIN=5'.*EXCHANGE:SYMBOL"), ("NSE:SBIN", "NSE:SBIN.*no price"),
])
def test_prices_set_names_the_bad_symbol_or_price(db, arg, message):
    with pytest.raises(CommandError, match=message):
        call_command("prices", "set", "NSE:INFY=1500", arg)
    assert not LastPrice.objects.exists()  # all checked before any is written


def test_prices_set_refuses_a_symbol_the_loaded_instrument_master_lacks(sbin):
    with pytest.raises(CommandError, match="NSE:SBIM: not in the instrument master"):
        call_command("prices", "set", "NSE:SBIM=800")
    call_command("prices", "set", "NCO:DEMO=10", stdout=StringIO())  # no master for NCO: anything goes
    assert stored_quote("NCO", "DEMO").ltp == D("10")


def test_replay_of_ticks_fills_resting_orders(sandbox, tmp_path):
    set_price("NSE", "SBIN", D("800"))
    resting = sandbox.place("SBIN", "SELL", 2, price_type="LIMIT", price="803")
    path = tmp_path / "ticks.csv"
    path.write_text("timestamp,exchange,symbol,ltp,bid,ask,volume\n"
                    "2026-11-25T09:15:00,NSE,SBIN,801,800.95,801.05,100\n"
                    "2026-11-25T09:15:01,NSE,SBIN,803.5,803.45,803.55,250\n")
    out = StringIO()
    call_command("prices", "replay", str(path), stdout=out)
    assert "Replayed 2 rows" in out.getvalue()
    q = stored_quote("NSE", "SBIN")
    assert (q.ltp, q.bid, q.volume) == (D("803.5"), D("803.45"), 250)
    order = SandboxOrder.objects.get(order_id=resting.broker_order_id)
    assert (order.status, order.average_price) == (OrderStatus.COMPLETE, D("803"))


def test_replay_of_bars_keeps_ohlc_and_adds_volumes(sbin, tmp_path):
    path = tmp_path / "bars.csv"
    path.write_text("timestamp,exchange,symbol,open,high,low,close,volume\n"
                    "2026-11-25 09:15,NSE,SBIN,800,805,799,804,1000\n"
                    "2026-11-25 09:16,NSE,SBIN,804,810,803,806,500\n")
    slept = []
    list(feeds.replay(feeds.read_replay(path), speed=60, sleep=slept.append))
    q = stored_quote("NSE", "SBIN")
    assert (q.open, q.high, q.low, q.ltp, q.volume) == (D("800"), D("810"), D("799"), D("806"), 1500)
    assert slept == [1.0]  # a minute apart at 60x


def test_replay_rejects_a_bad_line_before_writing_anything(db, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("timestamp,exchange,symbol,ltp\n2026-11-25T09:15:00,NSE,SBIN,801\n"
                    "2026-11-25T09:15:01,NSE,SBIN,zero\n")
    with pytest.raises(CommandError, match="line 3 NSE:SBIN"):
        call_command("prices", "replay", str(path))
    assert not LastPrice.objects.exists()


def test_simulate_is_repeatable_by_seed_and_stays_on_the_tick(sbin):
    def path(seed):
        walk = feeds.RandomWalk(["NSE:SBIN=812.5"], seed=seed)
        return [walk.step()[0] for _ in range(20)]

    first, again, other = path(7), path(7), path(8)
    assert [q.ltp for q in first] == [q.ltp for q in again]
    assert [q.ltp for q in first] != [q.ltp for q in other]
    assert all(q.ltp % D("0.05") == 0 and q.bid < q.ltp < q.ask for q in first)


def test_simulate_command_runs_a_bounded_number_of_steps(sbin):
    out = StringIO()
    call_command("prices", "simulate", "--symbols", "NSE:SBIN=812.5", "--seed", "3", "--steps", "5",
                 "--interval", "0", stdout=out)
    assert "Simulated 5 steps." in out.getvalue()
    assert LastPrice.objects.get(symbol="SBIN").source == "simulated"


def test_simulate_starts_from_the_stored_price_or_says_it_has_none(sbin):
    with pytest.raises(feeds.FeedError, match="NSE:SBIN: no start price"):
        feeds.RandomWalk(["NSE:SBIN"], seed=1)
    set_price("NSE", "SBIN", D("500"))
    walk = feeds.RandomWalk(["NSE:SBIN"], seed=1)
    assert abs(walk.step()[0].ltp - D("500")) < D("5")


def test_the_default_demo_symbols_resume_from_their_stored_prices(sbin, settings):
    settings.SANDBOX = {**settings.SANDBOX, "SIMULATE_SYMBOLS": ["NSE:SBIN=812.5"]}
    set_price("NSE", "SBIN", D("600"))
    call_command("prices", "simulate", "--steps", "1", "--interval", "0", "--seed", "1", stdout=StringIO())
    assert abs(stored_quote("NSE", "SBIN").ltp - D("600")) < D("5")


class _LiveBroker:
    """Stands in for the user's linked live broker (an HTTP server in production)."""

    def __init__(self) -> None:
        self.calls: list = []

    def quotes(self, exchange, symbol):
        from brokers.adapters.base import Quote

        self.calls.append((exchange, symbol))
        return Quote(ltp=D("1501.35"), bid=D("1501.30"), ask=D("1501.40"), volume=900)


def test_a_missing_price_comes_from_the_linked_live_account_and_is_stored(sandbox, monkeypatch):
    from brokers.services import accounts
    from tests.brokers.factories import TradingAccountFactory

    InstrumentFactory(exchange="NSE", symbol="INFY")
    TradingAccountFactory(user=sandbox.user, is_primary=True)
    broker = _LiveBroker()
    monkeypatch.setattr(accounts, "adapter_for", lambda account: broker)
    result = sandbox.place("INFY", "BUY", 2)
    assert result.average_price == D("1501.40")  # the live ask
    assert broker.calls == [("NSE", "INFY")]
    row = LastPrice.objects.get(symbol="INFY")
    assert (row.ltp, row.source) == (D("1501.35"), "live")
    sandbox.place("INFY", "SELL", 2)
    assert broker.calls == [("NSE", "INFY")]  # the store answers from now on


def test_without_a_linked_account_a_missing_price_is_a_rejection(sandbox):
    from brokers.adapters.base import OrderRejected

    InstrumentFactory(exchange="NSE", symbol="INFY")
    with pytest.raises(OrderRejected, match="No price for NSE:INFY"):
        sandbox.place("INFY", "BUY", 2)
