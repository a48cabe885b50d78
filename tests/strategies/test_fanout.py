"""The fan-out: one signal, one order per active deployment, in each owner's books, exactly once; one
account failing does not stop the others; a webhook reaches only its strategy's deployments."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import RiskSettings
from accounts.services.usersettings import set_analyze_mode
from strategies import tasks
from strategies.models import DeploymentStatus, SignalOrder, SignalStatus, StrategyLog
from strategies.services import fanout
from tests.factories import StaffFactory, UserFactory
from tests.strategies.factories import DeploymentFactory, StrategyFactory, StrategySymbolFactory
from tests.trading.factories import TradingAccountFactory
from trading.models import Order, OrderSource

pytestmark = pytest.mark.django_db
BUY = {"symbol": "SBIN", "action": "BUY"}


@pytest.fixture
def house(market, clock):
    """An operator's house strategy (SBIN x 10) with sandbox deployments of four traders."""
    strategy = StrategyFactory(user=StaffFactory(), is_house=True)
    StrategySymbolFactory(strategy=strategy, quantity=Decimal("10"))
    for _ in range(4):
        DeploymentFactory(strategy=strategy, user=UserFactory())
    return strategy


def test_a_house_signal_places_one_order_in_each_subscribers_books(house, hook_for):
    assert hook_for(house).post(BUY).status_code == 200
    deployments = list(house.deployments.all())
    orders = Order.objects.filter(deployment__strategy=house)
    assert orders.count() == 4
    assert {(o.user_id, o.deployment_id) for o in orders} == {(d.user_id, d.pk) for d in deployments}
    assert all(o.source == OrderSource.STRATEGY and o.is_analyze and o.status == "COMPLETE" for o in orders)
    assert not Order.objects.filter(user=house.user).exists()  # the operator's own books are untouched


def test_one_failing_account_does_not_stop_the_others_and_is_recorded(house, hook_for):
    failing = house.deployments.order_by("id")[1]
    RiskSettings.objects.update_or_create(user=failing.user, defaults={"trading_enabled": False})
    live = TradingAccountFactory(is_active=False)
    DeploymentFactory(strategy=house, account=live)
    hook = hook_for(house)
    assert hook.post(BUY).status_code == 200
    signal = hook.last_signal()
    assert (signal.deployments, signal.orders_placed, signal.orders_failed) == (5, 3, 2)
    assert signal.status == SignalStatus.ACCEPTED
    assert "2 of 5 orders failed" in signal.reason
    failures = {o.deployment_id: o.message for o in SignalOrder.objects.filter(signal=signal, status="failed")}
    assert set(failures) == {failing.pk, live.deployments.get().pk}
    assert "inactive" in failures[live.deployments.get().pk]
    refused = Order.objects.get(user=failing.user)  # the risk refusal is recorded in the owner's books
    assert refused.status == "REJECTED"
    assert failures[failing.pk] == refused.rejection_reason
    assert StrategyLog.objects.filter(signal=signal, level="error").count() == 2
    assert Order.objects.filter(deployment__strategy=house, status="COMPLETE").count() == 3


def test_a_signal_whose_every_order_fails_is_failed(market, clock, hook_for):
    strategy = StrategyFactory()
    StrategySymbolFactory(strategy=strategy)
    DeploymentFactory(strategy=strategy, account=TradingAccountFactory(user=strategy.user, is_active=False))
    hook = hook_for(strategy)
    assert hook.post(BUY).status_code == 200  # the webhook accepted it; the fan-out failed
    assert hook.last_signal().status == SignalStatus.FAILED


def test_a_retried_task_places_nothing_twice(house, hook_for):
    hook = hook_for(house)
    hook.post(BUY)
    signal = hook.last_signal()
    tasks.fan_out(signal.pk)  # a redelivered message
    tasks.place_batch(signal.pk, list(house.deployments.values_list("pk", flat=True)))
    SignalOrder.objects.filter(signal=signal).delete()  # a run that died after placing, before recording
    tasks.fan_out(signal.pk)
    assert Order.objects.filter(deployment__strategy=house).count() == 4
    outcomes = SignalOrder.objects.filter(signal=signal)
    assert outcomes.count() == 4
    assert all(o.order_id and o.status == "placed" for o in outcomes)
    signal.refresh_from_db()
    assert (signal.orders_placed, signal.orders_failed) == (4, 0)


def test_a_retried_exit_places_nothing_twice_even_after_the_position_changed(house, hook_for, settings):
    settings.STRATEGY_DUPLICATE_WINDOW = 0
    hook = hook_for(house)
    hook.post(BUY)
    hook.post({"symbol": "SBIN", "action": "SELL"})
    exit_signal = hook.last_signal()
    SignalOrder.objects.filter(signal=exit_signal).delete()
    tasks.fan_out(exit_signal.pk)
    assert Order.objects.filter(deployment__strategy=house, action="SELL").count() == 4
    assert set(SignalOrder.objects.filter(signal=exit_signal).values_list("status", flat=True)) == {"placed"}


def test_batches_of_deployments_complete_the_signal_once(house, hook_for, settings):
    settings.STRATEGY_FANOUT_BATCH = 1
    hook = hook_for(house)
    hook.post(BUY)
    signal = hook.last_signal()
    assert signal.processed_at is not None
    assert signal.orders_placed == 4
    assert StrategyLog.objects.filter(signal=signal, level="info").count() == 1  # one summary line


def test_batches_never_split_a_users_deployments():
    users = [UserFactory.build(pk=n) for n in (1, 2, 3)]
    rows = [DeploymentFactory.build(user=users[n], pk=i) for i, n in enumerate([0, 0, 0, 1, 2, 2])]
    assert [[d.pk for d in batch] for batch in fanout.batches(rows, 4)] == [[0, 1, 2, 3], [4, 5]]
    assert [len(b) for b in fanout.batches(rows, 1)] == [3, 1, 2]


def test_a_webhook_reaches_only_its_strategys_active_deployments(house, hook_for, market):
    paused = house.deployments.order_by("id")[0]
    paused.status = DeploymentStatus.PAUSED
    paused.save()
    bystander = UserFactory()  # has an account, not deployed
    TradingAccountFactory(user=bystander)
    set_analyze_mode(bystander, True)
    other = StrategyFactory()
    StrategySymbolFactory(strategy=other)
    mine = DeploymentFactory(strategy=other)
    hook_for(house).post(BUY)
    assert not Order.objects.filter(user__in=[bystander, paused.user, mine.user]).exists()
    assert Order.objects.count() == 3
    hook_for(other).post(BUY)
    assert Order.objects.get(user=mine.user).deployment == mine


def test_a_live_deployment_goes_to_its_account_unless_its_owner_is_in_analyze_mode(market, clock, hook_for, settings):
    settings.STRATEGY_DUPLICATE_WINDOW = 0
    account = TradingAccountFactory()  # broker "sandbox": a live route that needs no network
    strategy = StrategyFactory(user=account.user)
    StrategySymbolFactory(strategy=strategy)
    DeploymentFactory(strategy=strategy, account=account)
    hook = hook_for(strategy)
    hook.post(BUY)
    assert Order.objects.values_list("account", "is_analyze").get() == (account.pk, False)
    set_analyze_mode(account.user, True)
    hook.post({**BUY, "quantity": 1})
    assert Order.objects.filter(is_analyze=True, account=None).count() == 1


def test_the_fan_out_costs_a_bounded_number_of_queries_beyond_the_orders(house, hook_for):
    hook = hook_for(house)
    hook.post(BUY)
    signal = hook.last_signal()
    SignalOrder.objects.filter(signal=signal).delete()
    with CaptureQueriesContext(connection) as queries:
        fanout.place_batch(signal.pk, list(house.deployments.values_list("pk", flat=True)))
    assert len(queries) <= 12  # nothing placed again: the queries of the batch itself, none per deployment


def test_a_batch_that_runs_before_the_count_never_completes_the_signal(house, hook_for, settings):
    from strategies.models import Signal, SignalStatus
    from strategies.services.legs import parse_webhook

    leg = parse_webhook(house, BUY)[0]
    signal = Signal.objects.create(strategy=house, status=SignalStatus.ACCEPTED, legs=[leg.as_json()])
    first = house.deployments.order_by("id")[0]
    fanout.place_batch(signal.pk, [first.pk])  # a stray message: the fan-out has not counted yet
    signal.refresh_from_db()
    assert signal.processed_at is None
    fanout.fan_out(signal.pk)
    signal.refresh_from_db()
    assert (signal.processed_at is not None, signal.deployments, signal.orders_placed) == (True, 4, 4)


def test_a_late_batchs_stale_count_never_overwrites_the_final_figures(house, hook_for):
    hook = hook_for(house)
    hook.post(BUY)
    signal = hook.last_signal()
    SignalOrder.objects.filter(signal=signal).order_by("id").first().delete()  # as a batch saw it, mid-way
    fanout.complete(signal)
    signal.refresh_from_db()
    assert (signal.orders_placed, signal.deployments) == (4, 4)


def test_an_exit_never_crosses_from_the_sandbox_to_the_live_account(market, clock, hook_for, settings):
    settings.STRATEGY_DUPLICATE_WINDOW = 0
    account = TradingAccountFactory()
    strategy = StrategyFactory(user=account.user)
    StrategySymbolFactory(strategy=strategy)
    DeploymentFactory(strategy=strategy, account=account)
    set_analyze_mode(account.user, True)
    hook = hook_for(strategy)
    hook.post(BUY)  # bought in the sandbox (its owner is in analyze mode)
    set_analyze_mode(account.user, False)
    hook.post({"symbol": "SBIN", "action": "SELL"})
    assert SignalOrder.objects.get(signal=hook.last_signal()).message == "No long position to exit."
    assert not Order.objects.filter(account=account).exists()
