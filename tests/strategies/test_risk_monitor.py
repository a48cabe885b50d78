"""The risk monitor: max loss, max profit and trailing stops (amount, percent, points) fire once and only
once, close the deployment's positions through the pipeline, pause it and record a RiskEvent; each run's
work is bounded."""
from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal as D

import pytest
from django.core.cache import cache
from django.db import connection

from strategies.models import DeploymentStatus, RiskAction, RiskEvent, RiskRule, StrategyLog
from strategies.services import riskmonitor
from tests.strategies.desk import *  # noqa: F403
from tests.strategies.desk import deploy, long_position, make_strategy, price, rule
from trading.models import Action, Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def deployment(owner):
    return deploy(make_strategy(owner.user))


def strategy_orders(deployment):
    return list(Order.objects.filter(deployment=deployment).order_by("id"))


def test_max_loss_closes_the_position_pauses_the_deployment_and_records_the_event(deployment):
    limit = rule(deployment, "max_loss", "100")
    long_position(deployment)  # 10 at the ask, 800.05
    price("790")  # 10 x (790 - 800.05) = -100.50
    summary = riskmonitor.sweep()
    assert (summary.checked, summary.fired) == (1, 1)
    deployment.refresh_from_db()
    assert deployment.status == DeploymentStatus.PAUSED
    [event] = RiskEvent.objects.filter(deployment=deployment)
    assert (event.rule_type, event.threshold, event.value_seen) == ("max_loss", D("100"), D("-100.50"))
    assert event.action == RiskAction.CLOSED_AND_PAUSED
    _entry, exit_ = strategy_orders(deployment)
    assert event.order_ids == [exit_.pk]
    assert (exit_.action, exit_.quantity, exit_.status, exit_.strategy) == (Action.SELL, D("10"), "COMPLETE",
                                                                             "trend")
    limit.refresh_from_db()
    assert limit.fired_at is not None
    assert StrategyLog.objects.filter(deployment=deployment, data__risk_event=event.pk).exists()


def test_a_rule_fires_once_and_only_once(deployment):
    limit = rule(deployment, "max_loss", "100")
    long_position(deployment)
    price("790")
    riskmonitor.sweep()
    riskmonitor.sweep()
    # Even a run that read the rule and the deployment before the first fired cannot fire it again.
    assert riskmonitor.fire(deployment, limit, D("-500")) is None
    deployment.status = DeploymentStatus.ACTIVE
    deployment.save()  # resumed by its owner: the fired rule stays fired
    price("700")
    assert riskmonitor.sweep().fired == 0
    assert RiskEvent.objects.count() == 1
    assert len(strategy_orders(deployment)) == 2


def test_a_firing_cut_off_before_its_exits_is_finished_by_a_later_run_and_closes_once(deployment, monkeypatch):
    rule(deployment, "max_loss", "100")
    long_position(deployment)
    price("790")

    def crash(*args, **kwargs):
        raise SystemExit("worker killed")

    monkeypatch.setattr(riskmonitor.exits, "close_deployment", crash)
    with pytest.raises(SystemExit):
        riskmonitor.sweep()
    monkeypatch.undo()
    event = RiskEvent.objects.get()
    assert (event.action, event.order_ids) == (RiskAction.CLOSED_AND_PAUSED, [])  # provisional: nothing closed
    assert riskmonitor.sweep().finished == 0  # younger than a minute: maybe still in flight
    RiskEvent.objects.filter(pk=event.pk).update(created_at=event.created_at - dt.timedelta(minutes=2))
    # Another run is finishing it (its claim in the shared cache): this one leaves it alone.
    cache.add(riskmonitor.finish_claim_key(event.pk), 1)
    assert riskmonitor.sweep().finished == 0
    cache.delete(riskmonitor.finish_claim_key(event.pk))
    summary = riskmonitor.sweep()
    assert (summary.finished, summary.fired) == (1, 0)
    event.refresh_from_db()
    [exit_order] = Order.objects.filter(deployment=deployment, action=Action.SELL)
    assert (event.action, event.order_ids) == (RiskAction.CLOSED_AND_PAUSED, [exit_order.pk])
    assert riskmonitor.sweep().finished == 0  # finished: never again


def test_it_does_not_fire_inside_the_threshold(deployment):
    rule(deployment, "max_loss", "100")
    long_position(deployment)
    price("790.10")  # -99.50
    assert riskmonitor.sweep().fired == 0
    deployment.refresh_from_db()
    assert deployment.status == DeploymentStatus.ACTIVE
    assert (deployment.realized_pnl, deployment.unrealized_pnl) == (D("0.00"), D("-99.50"))


def test_max_profit_takes_the_target(deployment):
    rule(deployment, "max_profit", "100")
    long_position(deployment)
    price("811")  # 10 x 10.95 = 109.50
    assert riskmonitor.sweep().fired == 1
    event = RiskEvent.objects.get()
    assert (event.rule_type, event.value_seen) == ("max_profit", D("109.50"))


def test_a_trailing_stop_in_percent_trails_the_best_pnl_reached(deployment):
    trail = rule(deployment, "trailing_stop", "50", unit="percent")
    long_position(deployment)
    price("820")  # best: 199.50
    assert riskmonitor.sweep().fired == 0
    price("812")  # 119.50: 40% off the best
    assert riskmonitor.sweep().fired == 0
    trail.refresh_from_db()
    assert trail.peak_pnl == D("199.50")
    price("810")  # 99.50: 50.1% off the best
    assert riskmonitor.sweep().fired == 1
    event = RiskEvent.objects.get()
    assert (event.rule_type, event.value_seen) == ("trailing_stop", D("99.50"))
    assert "best 199.50" in event.message


def test_a_trailing_stop_in_points_counts_per_unit_of_the_open_position(deployment):
    rule(deployment, "trailing_stop", "5", unit="points")
    long_position(deployment)
    price("820")  # best 199.50
    riskmonitor.sweep()
    price("815.05")  # 150.00: 4.95 points a unit below the best
    assert riskmonitor.sweep().fired == 0
    price("815")  # 149.50: 5 points a unit (50 on 10)
    assert riskmonitor.sweep().fired == 1


def test_a_trailing_stop_is_not_armed_before_any_profit(deployment):
    rule(deployment, "trailing_stop", "10", unit="amount")
    long_position(deployment)
    price("700")
    assert riskmonitor.sweep().fired == 0


def test_two_rules_breached_together_fire_one_and_close_once(deployment):
    rule(deployment, "max_loss", "100")
    second = rule(deployment, "trailing_stop", "50", unit="amount")
    long_position(deployment)
    price("820")
    riskmonitor.sweep()
    price("780")  # -200.50: max loss and a 400 fall from the best
    assert riskmonitor.sweep().fired == 1
    assert RiskEvent.objects.count() == 1
    assert len(strategy_orders(deployment)) == 2
    second.refresh_from_db()
    assert second.fired_at is None  # it did not fire: the deployment was paused by the other


def test_a_deployment_paused_by_hand_is_not_watched(deployment):
    rule(deployment, "max_loss", "100")
    long_position(deployment)
    deployment.status = DeploymentStatus.PAUSED
    deployment.save()
    price("700")
    assert riskmonitor.sweep().checked == 0


def test_each_run_checks_a_bounded_batch_and_every_deployment_is_reached_in_turn(owner, django_assert_max_num_queries):
    deployments = [deploy(make_strategy(owner.user, f"s{n}")) for n in range(5)]
    for d in deployments:
        rule(d, "max_loss", "1000000")
    seen = []
    for _ in range(3):
        with django_assert_max_num_queries(6):
            summary = riskmonitor.sweep(batch=2)
        assert summary.checked == 2
        seen.append(summary)
    # 2 + 2 + 1 and, wrapping, the first again: all five reached in three runs.
    assert RiskRule.objects.filter(fired_at__isnull=True).count() == 5


def test_the_query_count_does_not_grow_with_the_batch(owner, django_assert_max_num_queries):
    for n in range(12):
        d = deploy(make_strategy(owner.user, f"s{n}"))
        rule(d, "max_loss", "1000000")
        long_position(d, quantity=1)
    with django_assert_max_num_queries(6):  # batch, rules, fills, the changed P&L (prices: the cache)
        assert riskmonitor.sweep(batch=12).checked == 12


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_fire_a_rule_once(owner):
    deployment = deploy(make_strategy(owner.user))
    rule(deployment, "max_loss", "100")
    long_position(deployment)
    price("790")
    barrier = threading.Barrier(2)
    results = []

    def run():
        try:
            barrier.wait()
            results.append(riskmonitor.sweep().fired)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [0, 1]
    assert RiskEvent.objects.count() == 1
    assert Order.objects.filter(deployment=deployment, action=Action.SELL).count() == 1
