"""The strategy webhook's LONG / SHORT / BOTH x BUY / SELL table, end to end into the sandbox: each row is
a delivery and the order it must place on the deployment (or why none), in sequence from flat."""
from __future__ import annotations

from decimal import Decimal

import pytest

from strategies.models import SignalOrder, SignalStatus, TradingMode
from tests.strategies.factories import DeploymentFactory, StrategyFactory, StrategySymbolFactory
from trading.models import Order, OrderSource

pytestmark = pytest.mark.django_db

# (action, position_size or None, expected order (action, quantity) or the skip message's start)
TABLE = {
    TradingMode.LONG: [
        ("SELL", None, "No long position"),  # nothing to exit from flat
        ("BUY", None, ("BUY", 10)),  # entry: the mapped quantity
        ("BUY", None, ("BUY", 10)),  # a second entry adds to it
        ("SELL", None, ("SELL", 20)),  # exit: to flat, whatever the size
        ("SELL", None, "No long position"),
    ],
    TradingMode.SHORT: [
        ("BUY", None, "No short position"),
        ("SELL", None, ("SELL", 10)),
        ("BUY", None, ("BUY", 10)),
        ("BUY", None, "No short position"),
    ],
    TradingMode.BOTH: [
        ("BUY", "10", ("BUY", 10)),  # to +10
        ("BUY", "10", "Already at the target position 10"),
        ("SELL", "-5", ("SELL", 15)),  # +10 to -5
        ("BUY", "0", ("BUY", 5)),  # exit the short
        ("SELL", "0", "Already at the target position 0"),
        ("BUY", "30", ("BUY", 30)),  # position_size is the target itself, not the mapping's quantity
    ],
}


@pytest.mark.parametrize("mode", list(TABLE))
def test_each_mode_moves_the_deployment_as_the_table_says(mode, market, clock, hook_for, settings):
    settings.STRATEGY_DUPLICATE_WINDOW = 0  # the same alert again is a real signal in this table
    strategy = StrategyFactory(trading_mode=mode)
    StrategySymbolFactory(strategy=strategy, quantity=Decimal("10"))
    deployment = DeploymentFactory(strategy=strategy)
    hook = hook_for(strategy)
    for step, (action, size, expected) in enumerate(TABLE[mode]):
        body = {"symbol": "SBIN", "action": action} | ({"position_size": size} if size is not None else {})
        response = hook.post(body)
        assert response.status_code == 200, (step, response.json())
        outcome = SignalOrder.objects.get(signal=hook.last_signal())
        if isinstance(expected, str):
            assert (outcome.status, outcome.message[:len(expected)]) == ("skipped", expected), step
            continue
        order = Order.objects.get(pk=outcome.order_id)
        assert (order.action, order.quantity, order.status) == (expected[0], expected[1], "COMPLETE"), step
        assert (order.deployment, order.user, order.source, order.strategy) == (
            deployment, strategy.user, OrderSource.STRATEGY, strategy.name)


@pytest.mark.parametrize(("body", "field"), [
    ({"symbol": "SBIN", "action": "BUY"}, "position_size"),  # required in BOTH
    ({"symbol": "SBIN", "action": "BUY", "position_size": "-1"}, "position_size"),
    ({"symbol": "SBIN", "action": "SELL", "position_size": "5"}, "position_size"),
    ({"symbol": "SBIN", "action": "HOLD", "position_size": "5"}, "action"),
    ({"symbol": "SBIN", "action": "BUY", "position_size": "ten"}, "position_size"),
])
def test_both_mode_refuses_a_size_that_contradicts_the_action(body, field, market, clock, hook_for):
    strategy = StrategyFactory(trading_mode=TradingMode.BOTH)
    StrategySymbolFactory(strategy=strategy)
    DeploymentFactory(strategy=strategy)
    hook = hook_for(strategy)
    response = hook.post(body)
    assert response.status_code == 400
    assert response.json()["message"].startswith(f"{field}:")
    assert hook.last_signal().status == SignalStatus.REFUSED
    assert not Order.objects.exists()


def test_a_multiplier_scales_entries_in_whole_lots(market, clock, hook_for, settings):
    settings.STRATEGY_DUPLICATE_WINDOW = 0
    strategy = StrategyFactory()
    StrategySymbolFactory(strategy=strategy, exchange="NFO", symbol="NIFTY30DEC26FUT", quantity=Decimal("75"))
    DeploymentFactory(strategy=strategy, quantity_multiplier=Decimal("2"))
    DeploymentFactory(strategy=strategy, user=DeploymentFactory(strategy=StrategyFactory()).user,
                      quantity_multiplier=Decimal("1.5"))
    small = DeploymentFactory(strategy=strategy, user=DeploymentFactory(strategy=StrategyFactory()).user,
                              quantity_multiplier=Decimal("0.5"))
    assert hook_for(strategy).post({"symbol": "NIFTY30DEC26FUT", "action": "BUY"}).status_code == 200
    assert sorted(Order.objects.filter(deployment__strategy=strategy).values_list("quantity", flat=True)) == [75, 150]
    assert SignalOrder.objects.get(deployment=small).message.startswith("75 x multiplier 0.5 is less than one lot")


def test_a_body_quantity_overrides_the_mapped_entry_quantity(hook):
    assert hook.post({"symbol": "SBIN", "action": "BUY", "quantity": "3"}).status_code == 200
    assert Order.objects.get().quantity == 3
