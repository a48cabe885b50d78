"""Strategies' models hold their rules in the database, and every admin page renders for an operator."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import RestrictedError
from django.urls import reverse

from strategies.models import (
    Deployment,
    DeploymentMode,
    RiskEvent,
    RiskRule,
    Signal,
    SignalOrder,
    SignalStatus,
    Strategy,
    StrategyLog,
    StrategyPerformance,
    StrategySymbol,
)
from tests.accounts.conftest import enroll, sign_in
from tests.factories import StaffFactory, UserFactory
from tests.strategies.factories import DeploymentFactory, StrategyFactory, StrategySymbolFactory
from tests.trading.factories import OrderFactory, TradingAccountFactory

pytestmark = pytest.mark.django_db
MODELS = [Strategy, StrategySymbol, Deployment, RiskRule, RiskEvent, Signal, SignalOrder, StrategyLog,
          StrategyPerformance]


def _refused(**kwargs):
    with pytest.raises(IntegrityError), transaction.atomic():
        kwargs.pop("model").objects.create(**kwargs)


def test_it_keeps_names_unique_per_user_and_windows_in_order():
    strategy = StrategyFactory(name="trend")
    _refused(model=Strategy, user=strategy.user, name="trend")
    StrategyFactory(name="trend")  # another user's may share the name
    _refused(model=Strategy, user=UserFactory(), name="x", start_time=dt.time(15), end_time=dt.time(9))
    _refused(model=Strategy, user=UserFactory(), name="y", end_time=dt.time(15, 20), squareoff_time=dt.time(15))


def test_a_live_deployment_needs_an_account_and_a_sandbox_one_has_none():
    account = TradingAccountFactory()
    strategy = StrategyFactory(user=account.user)
    _refused(model=Deployment, strategy=strategy, user=account.user, mode=DeploymentMode.LIVE, account=None)
    _refused(model=Deployment, strategy=strategy, user=account.user, mode=DeploymentMode.SANDBOX, account=account)
    DeploymentFactory(strategy=strategy)
    _refused(model=Deployment, strategy=strategy, user=account.user, mode=DeploymentMode.SANDBOX)  # one sandbox
    DeploymentFactory(strategy=strategy, account=account)
    _refused(model=Deployment, strategy=strategy, user=account.user, mode=DeploymentMode.LIVE, account=account)


def test_only_a_house_strategy_deploys_to_another_users_account():
    strategy = StrategyFactory()
    other = TradingAccountFactory()
    deployment = Deployment(strategy=strategy, user=other.user, mode=DeploymentMode.LIVE, account=other)
    with pytest.raises(ValidationError) as error:
        deployment.full_clean()
    assert "strategy" in error.value.message_dict
    house = StrategyFactory(user=StaffFactory(), is_house=True)
    Deployment(strategy=house, user=other.user, mode=DeploymentMode.LIVE, account=other).full_clean()
    with pytest.raises(ValidationError) as error:
        StrategyFactory.build(user=UserFactory(), is_house=True).full_clean()
    assert "is_house" in error.value.message_dict


def test_an_idempotency_key_is_accepted_once_and_its_repeats_are_kept_as_duplicates():
    strategy = StrategyFactory()
    first = Signal.objects.create(strategy=strategy, idempotency_key="k1", status=SignalStatus.ACCEPTED)
    _refused(model=Signal, strategy=strategy, idempotency_key="k1", status=SignalStatus.REFUSED)
    Signal.objects.create(strategy=strategy, idempotency_key="k1", status=SignalStatus.DUPLICATE, duplicate_of=first)
    Signal.objects.create(strategy=StrategyFactory(), idempotency_key="k1", status=SignalStatus.ACCEPTED)


def test_quantities_thresholds_and_performance_figures_are_checked():
    _refused(model=StrategySymbol, strategy=StrategyFactory(), exchange="NSE", symbol="SBIN", quantity=Decimal("0"))
    deployment = DeploymentFactory()
    _refused(model=RiskRule, deployment=deployment, rule_type="max_loss", threshold=Decimal("0"))
    _refused(model=RiskRule, deployment=deployment, rule_type="max_loss", threshold=Decimal("5"), unit="percent")
    RiskRule.objects.create(deployment=deployment, rule_type="trailing_stop", threshold=Decimal("5"), unit="percent")
    _refused(model=StrategyPerformance, strategy=deployment.strategy, date=dt.date(2026, 1, 5), total_trades=2,
             winning_trades=2, losing_trades=1)
    StrategyPerformance.objects.create(strategy=deployment.strategy, date=dt.date(2026, 1, 5), total_trades=3,
                                       winning_trades=2, losing_trades=1, win_rate=Decimal("66.67"))
    _refused(model=StrategyPerformance, strategy=deployment.strategy, date=dt.date(2026, 1, 5))


def test_a_deployment_with_orders_is_not_deleted_alone_but_its_user_is():
    deployment = DeploymentFactory()
    OrderFactory(user=deployment.user, deployment=deployment)
    with pytest.raises(RestrictedError):
        deployment.delete()
    with pytest.raises(RestrictedError):
        deployment.strategy.delete()
    deployment.user.delete()
    assert not Deployment.objects.exists()


def test_every_strategies_admin_page_renders_and_hides_the_secret(client):
    operator = StaffFactory()
    staff = sign_in(client, operator, enroll(operator))
    symbol = StrategySymbolFactory(strategy__webhook_secret="s3cret-value-0123456789")
    deployment = DeploymentFactory(strategy=symbol.strategy)
    rule = RiskRule.objects.create(deployment=deployment, rule_type="max_loss", threshold=Decimal("500"))
    RiskEvent.objects.create(deployment=deployment, rule=rule, rule_type="max_loss", threshold=Decimal("500"),
                             value_seen=Decimal("-510"), action="closed_and_paused")
    signal = Signal.objects.create(strategy=symbol.strategy, status=SignalStatus.ACCEPTED, payload={"symbol": "SBIN"})
    SignalOrder.objects.create(signal=signal, deployment=deployment, client_order_id="x", status="placed")
    StrategyLog.objects.create(strategy=symbol.strategy, message="hello")
    StrategyPerformance.objects.create(strategy=symbol.strategy, date=dt.date(2026, 1, 5))
    for model in MODELS:
        name = model._meta.model_name
        assert staff.get(reverse(f"admin:strategies_{name}_changelist")).status_code == 200, model
        row = model.objects.first()
        page = staff.get(reverse(f"admin:strategies_{name}_change", args=[row.pk]))
        assert page.status_code == 200, model
        assert b"s3cret-value" not in page.content
    assert staff.get(reverse("admin:strategies_strategy_add")).status_code == 200
    assert staff.get(reverse("admin:strategies_signal_add")).status_code == 403  # written by the platform only


def test_the_admin_sets_and_clears_the_webhook_secret_without_showing_it(client):
    operator = StaffFactory()
    staff = sign_in(client, operator, enroll(operator))
    strategy = StrategyFactory(user=operator)
    url = reverse("admin:strategies_strategy_change", args=[strategy.pk])
    form = {"user": operator.pk, "name": strategy.name, "platform": "tradingview", "is_active": "on",
            "is_intraday": "on", "trading_mode": "LONG", "exchange": "NSE", "start_time": "09:15",
            "end_time": "15:00", "squareoff_time": "15:15", "trading_days": "[0, 1, 2, 3, 4]", "parameters": "{}",
            "schedule": "{}", "symbols-TOTAL_FORMS": "0", "symbols-INITIAL_FORMS": "0",
            "new_webhook_secret": "short"}
    assert b"at least 16 characters" in staff.post(url, form).content
    assert staff.post(url, {**form, "new_webhook_secret": "a-long-enough-secret"}).status_code == 302
    strategy.refresh_from_db()
    assert strategy.webhook_secret == "a-long-enough-secret"
    assert b"a-long-enough-secret" not in staff.get(url).content
    staff.post(url, {**form, "new_webhook_secret": ""})
    strategy.refresh_from_db()
    assert strategy.webhook_secret == "a-long-enough-secret"  # blank keeps it
    staff.post(url, {**form, "new_webhook_secret": "", "clear_webhook_secret": "on"})
    strategy.refresh_from_db()
    assert strategy.webhook_secret is None


def test_admin_actions_pause_resume_and_square_off_through_the_services(client, market, clock):
    from strategies.models import DeploymentStatus
    from strategies.services import fanout
    from strategies.services.legs import parse_webhook
    from trading.models import Order

    operator = StaffFactory()
    staff = sign_in(client, operator, enroll(operator))
    deployment = DeploymentFactory(strategy=StrategySymbolFactory().strategy)
    strategy = deployment.strategy
    signal = Signal.objects.create(strategy=strategy, status=SignalStatus.ACCEPTED,
                                   legs=[parse_webhook(strategy, {"symbol": "SBIN", "action": "BUY"})[0].as_json()])
    fanout.fan_out(signal.pk)
    url = reverse("admin:strategies_deployment_changelist")
    staff.post(url, {"action": "pause", "_selected_action": [deployment.pk]})
    deployment.refresh_from_db()
    assert deployment.status == DeploymentStatus.PAUSED
    assert StrategyLog.objects.filter(deployment=deployment, message__contains="paused by").exists()
    staff.post(url, {"action": "resume", "_selected_action": [deployment.pk]})
    deployment.refresh_from_db()
    assert deployment.status == DeploymentStatus.ACTIVE
    staff.post(reverse("admin:strategies_strategy_changelist"), {"action": "square_off",
                                                                 "_selected_action": [strategy.pk]})
    assert list(Order.objects.filter(deployment=deployment).values_list("action", "quantity", "source")) == [
        ("SELL", 10, "admin"), ("BUY", 10, "strategy")]
