"""Retention of the books: old settled orders move to the archive with their trades; what a user still
needs (open orders, orders awaiting confirmation, the orders behind open positions and holdings, a split
whose legs are not all settled) stays whatever its age. Order events follow their order."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.forms.models import model_to_dict

from maintenance.services.runs import run_policy
from sandbox.models import SandboxPosition
from tests.api.factories import HoldingFactory, PositionFactory, TradeFactory
from tests.maintenance.conftest import ALL, days_ago, policy
from tests.trading.factories import OrderFactory, TradingAccountFactory
from trading.models import Order, OrderArchive, OrderEvent, OrderStatus, PositionHistory, Trade, TradeArchive

pytestmark = pytest.mark.django_db(databases=ALL)
OLD, NEW = days_ago(400), days_ago(30)


@pytest.fixture
def account():
    return TradingAccountFactory()


def _order(account, placed_at=OLD, status=OrderStatus.COMPLETE, **fields) -> Order:
    return OrderFactory(user=account.user, account=account, placed_at=placed_at, status=status, **fields)


def _run():
    return run_policy(policy("trading.orders", batch_size=100))


def test_old_settled_orders_and_their_trades_move_to_the_archive_as_they_were(account):
    done = [_order(account, symbol=f"S{i}") for i in range(3)]
    cancelled = _order(account, status=OrderStatus.CANCELLED, symbol="C")
    trades = [TradeFactory(order=o, symbol=o.symbol, traded_at=OLD) for o in done for _ in range(2)]
    recent = _order(account, placed_at=NEW, symbol="R")
    before = {o.pk: model_to_dict(Order.objects.get(pk=o.pk)) for o in [*done, cancelled]}

    outcome = _run()

    assert outcome.rows == 4
    assert outcome.moved["trading.Trade"] == 6
    assert set(Order.objects.values_list("pk", flat=True)) == {recent.pk}
    for archived in OrderArchive.objects.all():
        assert (archived.status, archived.symbol, archived.quantity, archived.user_id, archived.account_id) == (
            before[archived.pk]["status"], before[archived.pk]["symbol"], before[archived.pk]["quantity"],
            account.user_id, account.pk)
    assert set(TradeArchive.objects.values_list("pk", "order_id")) == {(t.pk, t.order_id) for t in trades}
    assert not Trade.objects.exists()


def test_open_and_unconfirmed_orders_stay_whatever_their_age(account):
    kept = [_order(account, status=s, symbol=s[:8]) for s in
            (OrderStatus.OPEN, OrderStatus.PENDING, OrderStatus.TRIGGER_PENDING, OrderStatus.PARTIALLY_FILLED,
             OrderStatus.UNKNOWN)]
    TradeFactory(order=kept[3], symbol=kept[3].symbol, traded_at=OLD)
    assert _run().rows == 0
    assert Order.objects.count() == 5
    assert Trade.objects.count() == 1


def test_the_orders_behind_an_open_position_or_a_holding_stay_with_their_history(account):
    behind_position = _order(account, symbol="POSX", product="MIS")
    position = PositionFactory(user=account.user, account=account, symbol="POSX", product="MIS")
    PositionHistory.objects.create(position=position, order=behind_position, event="OPEN", quantity=Decimal("10"),
                                   price=Decimal("800"), net_quantity_after=Decimal("10"))
    behind_holding = _order(account, symbol="HOLDX", product="CNC")
    HoldingFactory(user=account.user, account=account, symbol="HOLDX")
    closed = _order(account, symbol="FLAT", product="MIS")
    PositionFactory(user=account.user, account=account, symbol="FLAT", product="MIS", net_quantity=Decimal("0"))

    assert _run().rows == 1
    assert set(Order.objects.values_list("symbol", flat=True)) == {"POSX", "HOLDX"}
    assert OrderArchive.objects.get().pk == closed.pk
    assert PositionHistory.objects.get().order_id == behind_position.pk  # the history keeps its order
    assert behind_holding.pk in set(Order.objects.values_list("pk", flat=True))


def test_analyze_orders_behind_an_open_sandbox_position_stay(account):
    kept = OrderFactory(user=account.user, placed_at=OLD, status=OrderStatus.COMPLETE, is_analyze=True,
                        symbol="SBX", product="MIS")
    SandboxPosition.objects.create(user=account.user, exchange="NSE", symbol="SBX", product="MIS",
                                   quantity=Decimal("3"))
    gone = OrderFactory(user=account.user, placed_at=OLD, status=OrderStatus.COMPLETE, is_analyze=True, symbol="OLD")
    _run()
    assert set(Order.objects.values_list("pk", flat=True)) == {kept.pk}
    assert OrderArchive.objects.get().pk == gone.pk


def test_a_split_goes_with_all_its_legs_or_not_at_all(account):
    parent = _order(account, kind="split", symbol="SPL")
    legs = [_order(account, parent=parent, symbol="SPL") for _ in range(3)]
    waiting = _order(account, kind="split", symbol="WAIT")
    _order(account, parent=waiting, symbol="WAIT")
    _order(account, parent=waiting, symbol="WAIT", status=OrderStatus.OPEN)

    outcome = run_policy(policy("trading.orders", batch_size=100))

    assert outcome.rows == 4
    assert set(OrderArchive.objects.values_list("pk", flat=True)) == {parent.pk, *(leg.pk for leg in legs)}
    assert Order.objects.filter(symbol="WAIT").count() == 3


def test_order_events_follow_their_order(account):
    closed, still_open = _order(account, symbol="A"), _order(account, symbol="B", status=OrderStatus.OPEN)
    for order in (closed, still_open):
        OrderEvent.objects.create(order=order, message="old", created_at=OLD)
        OrderEvent.objects.create(order=order, message="new", created_at=NEW)

    assert run_policy(policy("trading.order_events")).rows == 1
    assert set(OrderEvent.objects.values_list("order_id", "message")) == {
        (closed.pk, "new"), (still_open.pk, "old"), (still_open.pk, "new")}

    # Archiving the order takes its remaining events with it (counted in the summary).
    outcome = _run()
    assert outcome.cascaded["trading.OrderEvent"] == 1
    assert "1 trading.OrderEvent deleted" in outcome.summary()


def test_the_order_policy_dry_run_counts_orders_and_trades_and_changes_nothing(account):
    order = _order(account)
    TradeFactory(order=order, traded_at=OLD)
    outcome = run_policy(policy("trading.orders"), dry_run=True)
    assert (outcome.rows, outcome.moved["trading.Trade"]) == (1, 1)
    assert Order.objects.count() == 1
    assert Trade.objects.count() == 1
    assert not OrderArchive.objects.exists()


def test_intraday_bars_go_after_30_days_and_daily_bars_stay(db):
    from marketdata.models import Bar

    def bar(interval, at):
        return Bar.objects.create(symbol="SBIN", exchange="NSE", interval=interval, timestamp=at, open=1, high=2,
                                  low=1, close=2)

    bar("1m", days_ago(31)), bar("1m", days_ago(29))
    daily = bar("D", days_ago(400))
    assert run_policy(policy("marketdata.intraday_bars")).rows == 1
    assert set(Bar.objects.values_list("interval", flat=True)) == {"1m", "D"}
    assert Bar.objects.filter(pk=daily.pk).exists()


def test_strategy_logs_go_after_a_year(db):
    from strategies.models import StrategyLog
    from tests.strategies.factories import StrategyFactory

    strategy = StrategyFactory()
    StrategyLog.objects.create(strategy=strategy, message="old", created_at=days_ago(366))
    StrategyLog.objects.create(strategy=strategy, message="recent", created_at=days_ago(364))
    assert run_policy(policy("strategies.logs")).rows == 1
    assert list(StrategyLog.objects.values_list("message", flat=True)) == ["recent"]
