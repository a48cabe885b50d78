"""/api/strategies/...: the owner's strategies, symbols, deployments (start, pause, stop, square-off), risk
rules, signals, logs, risk events and performance; scoped, filterable, in the schema. A subscriber to an
operator's house strategy sees and can pause or leave their own deployment, never another subscriber."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal as D

import pytest

from accounts.models import OrderMode
from strategies.models import DeploymentStatus, RiskEvent, Signal, StrategyPerformance
from strategies.services import riskmonitor
from tests.api.factories import TradingAccountFactory
from tests.factories import StaffFactory, UserFactory
from tests.strategies.desk import *  # noqa: F403
from tests.strategies.desk import deploy, long_position, make_strategy, persona, price, rule
from trading.models import Action, Order

pytestmark = pytest.mark.django_db
NEW = {"name": "Breakout", "platform": "tradingview", "trading_mode": "BOTH", "exchange": "NSE",
       "trading_days": [0, 1, 2, 3, 4]}


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


# --- strategies and symbols ----------------------------------------------------------------------------
def test_a_trader_creates_a_strategy_and_gets_its_webhook_and_alert(owner):
    response = owner.post("strategies/", {**NEW, "webhook_secret": "s" * 20})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["webhook_url"] == f"http://testserver/strategy/webhook/{body['webhook_id']}"
    assert json.loads(body["tradingview_alert"]) == {
        "symbol": "{{ticker}}", "action": "{{strategy.order.action}}",
        "position_size": "{{strategy.position_size}}", "token": "YOUR_WEBHOOK_SECRET"}
    assert body["has_secret"] is True
    assert "webhook_secret" not in body
    symbol = owner.post("strategies/symbols/", {"strategy": body["id"], "exchange": "NSE", "symbol": "sbin",
                                                "quantity": "5"})
    assert symbol.status_code == 201, symbol.content
    assert symbol.json()["symbol"] == "SBIN"
    assert [s["symbol"] for s in owner.get(f"strategies/{body['id']}/").json()["symbols"]] == ["SBIN"]


def test_a_chartink_strategy_gets_chartinks_path(owner):
    body = owner.post("strategies/", {**NEW, "platform": "chartink"}).json()
    assert body["webhook_url"].startswith("http://testserver/chartink/webhook/")


@pytest.mark.parametrize(("change", "field"), [
    ({"webhook_secret": "short"}, "webhook_secret"),
    ({"is_house": True}, "is_house"),
    ({"start_time": "15:00", "end_time": "09:15"}, "end_time"),
    ({"trading_days": [9]}, "trading_days"),
    ({"trading_mode": "SIDEWAYS"}, "trading_mode"),
])
def test_bad_strategy_input_is_a_400_naming_the_field(owner, change, field):
    response = owner.post("strategies/", {**NEW, **change})
    assert response.status_code == 400
    assert field in response.json()


def test_a_strategy_name_is_unique_per_user(owner, other):
    make_strategy(owner.user, "Breakout")
    assert "name" in owner.post("strategies/", NEW).json()
    assert other.post("strategies/", NEW).status_code == 201


def test_another_users_strategy_and_symbols_cannot_be_read_changed_or_used(owner, other):
    s = make_strategy(owner.user)
    symbol = s.symbols.get()
    assert ids(other.get("strategies/")) == []
    assert ids(other.get("strategies/symbols/")) == []
    for path in (f"strategies/{s.pk}/", f"strategies/symbols/{symbol.pk}/"):
        assert other.get(path).status_code == 404
        assert other.patch(path, {"name": "mine", "quantity": "1"}).status_code == 404
        assert other.delete(path).status_code == 404
    assert "strategy" in other.post("strategies/symbols/", {"strategy": s.pk, "exchange": "NSE", "symbol": "INFY",
                                                            "quantity": "1"}).json()
    assert "strategy" in other.post("strategies/deployments/", {"strategy": s.pk}).json()
    s.refresh_from_db()
    assert (s.name, s.symbols.count()) == ("trend", 1)


def test_strategies_are_filterable(owner):
    make_strategy(owner.user, "trend")
    make_strategy(owner.user, "swing", is_intraday=False)
    assert [r["name"] for r in owner.get("strategies/", {"is_intraday": "false"}).json()["results"]] == ["swing"]
    assert [r["name"] for r in owner.get("strategies/", {"name": "TRE"}).json()["results"]] == ["trend"]
    assert owner.get("strategies/", {"platform": "nope"}).status_code == 400


# --- deployments ---------------------------------------------------------------------------------------
def test_deploy_to_the_sandbox_then_pause_resume_stop_and_start_again(owner):
    s = make_strategy(owner.user)
    response = owner.post("strategies/deployments/", {"strategy": s.pk, "quantity_multiplier": "2"})
    assert response.status_code == 201, response.content
    d = response.json()
    assert (d["mode"], d["account"], d["status"], d["is_subscription"]) == ("sandbox", None, "active", False)
    assert "account" in owner.post("strategies/deployments/", {"strategy": s.pk}).json()  # once per sandbox
    path = f"strategies/deployments/{d['id']}/"
    assert owner.post(path + "pause/").json()["status"] == "paused"
    conflict = owner.post(path + "pause/")
    assert conflict.status_code == 409
    assert conflict.json() == {"detail": f"Deployment {d['id']} is paused; it cannot be paused."}
    assert owner.post(path + "start/").json()["status"] == "active"
    stopped = owner.post(path + "stop/").json()
    assert (stopped["status"], stopped["stopped_at"] is not None) == ("stopped", True)
    again = owner.post(path + "start/").json()
    assert (again["status"], again["stopped_at"]) == ("active", None)
    assert again["started_at"] > d["started_at"]


def test_a_live_deployment_needs_the_callers_own_account(owner, other):
    s = make_strategy(owner.user)
    theirs = TradingAccountFactory(user=other.user, name="theirs")
    assert "account" in owner.post("strategies/deployments/", {"strategy": s.pk, "account": theirs.pk}).json()
    mine = TradingAccountFactory(user=owner.user, name="mine")
    body = owner.post("strategies/deployments/", {"strategy": s.pk, "account": mine.pk}).json()
    assert (body["mode"], body["account_name"]) == ("live", "mine")
    assert "strategy" in owner.patch(f"strategies/deployments/{body['id']}/",
                                     {"strategy": make_strategy(owner.user, "b").pk}).json()


def test_square_off_closes_the_deployments_positions_through_the_pipeline(owner):
    d = deploy(make_strategy(owner.user))
    long_position(d, 7)
    response = owner.post(f"strategies/deployments/{d.pk}/square-off/")
    assert response.status_code == 200, response.content
    body = response.json()
    sell = Order.objects.get(deployment=d, action=Action.SELL)
    assert (body["orders"], body["failures"], body["deployment"]["status"]) == ([sell.pk], [], "active")
    assert sell.quantity == D("7")


@pytest.fixture
def house(market):
    """An operator's house strategy with two subscribers, each with a position."""
    operator = persona(StaffFactory())
    first, second = persona(UserFactory()), persona(UserFactory())
    strategy = make_strategy(operator.user, "house", is_house=True)
    mine, theirs = deploy(strategy, user=first.user), deploy(strategy, user=second.user)
    long_position(mine, 2)
    long_position(theirs, 3)
    return operator, first, second, strategy, mine, theirs


def test_a_subscriber_sees_pauses_and_leaves_only_their_own_subscription(house):
    operator, first, _second, strategy, mine, theirs = house
    assert ids(first.get("strategies/deployments/")) == [mine.pk]
    row = first.get(f"strategies/deployments/{mine.pk}/").json()
    assert (row["is_subscription"], row["strategy_name"], row["user"]) == (True, "house", first.user.username)
    for path in ("", "pause/", "stop/", "start/", "square-off/"):
        method = first.get if not path else first.post
        assert method(f"strategies/deployments/{theirs.pk}/{path}").status_code == 404
    assert Order.objects.filter(deployment=theirs, action=Action.SELL).count() == 0
    assert first.post(f"strategies/deployments/{mine.pk}/pause/").json()["status"] == "paused"
    assert first.post(f"strategies/deployments/{mine.pk}/stop/").json()["status"] == "stopped"  # leave
    # The house strategy itself, its signals and performance stay the operator's.
    assert first.get(f"strategies/{strategy.pk}/").status_code == 404
    Signal.objects.create(strategy=strategy, status="accepted")
    assert ids(first.get("strategies/signals/")) == []
    assert ids(operator.get("strategies/deployments/")) == [theirs.pk, mine.pk]


def test_risk_events_and_logs_reach_the_subscriber_of_the_deployment_and_the_strategy_owner_only(house):
    operator, first, second, _strategy, _mine, theirs = house
    rule(theirs, "max_loss", "1")
    price("700")
    riskmonitor.sweep()
    event = RiskEvent.objects.get()
    assert ids(second.get("strategies/risk-events/")) == [event.pk]
    assert ids(operator.get("strategies/risk-events/")) == [event.pk]
    assert ids(first.get("strategies/risk-events/")) == []
    assert first.get(f"strategies/risk-events/{event.pk}/").status_code == 404
    assert all(r["deployment"] != theirs.pk for r in first.get("strategies/logs/").json()["results"])
    assert any(r["deployment"] == theirs.pk for r in second.get("strategies/logs/").json()["results"])


# --- risk rules ----------------------------------------------------------------------------------------
def test_risk_rules_for_the_callers_deployments_only(owner, other):
    d = deploy(make_strategy(owner.user))
    created = owner.post("strategies/risk-rules/", {"deployment": d.pk, "rule_type": "trailing_stop",
                                                    "threshold": "20", "unit": "percent"})
    assert created.status_code == 201, created.content
    assert "unit" in owner.post("strategies/risk-rules/", {"deployment": d.pk, "rule_type": "max_loss",
                                                           "threshold": "5", "unit": "percent"}).json()
    assert "rule_type" in owner.post("strategies/risk-rules/", {"deployment": d.pk, "rule_type": "trailing_stop",
                                                                "threshold": "5"}).json()
    assert "deployment" in other.post("strategies/risk-rules/", {"deployment": d.pk, "rule_type": "max_loss",
                                                                 "threshold": "5"}).json()
    assert ids(other.get("strategies/risk-rules/")) == []
    assert [r["rule_type"] for r in owner.get(f"strategies/deployments/{d.pk}/").json()["risk_rules"]] == [
        "trailing_stop"]


# --- signals, performance ------------------------------------------------------------------------------
def test_signals_are_read_only_scoped_and_filterable(owner, other):
    s = make_strategy(owner.user)
    accepted = Signal.objects.create(strategy=s, status="accepted")
    refused = Signal.objects.create(strategy=s, status="refused", reason="Outside the entry window.")
    assert ids(owner.get("strategies/signals/")) == [refused.pk, accepted.pk]
    assert ids(owner.get("strategies/signals/", {"status": "refused"})) == [refused.pk]
    assert ids(other.get("strategies/signals/")) == []
    assert other.get(f"strategies/signals/{accepted.pk}/").status_code == 404
    assert owner.post("strategies/signals/", {"strategy": s.pk}).status_code == 405
    assert owner.delete(f"strategies/signals/{accepted.pk}/").status_code == 405


def test_performance_is_the_owners_and_filterable_by_date(owner, other):
    s = make_strategy(owner.user)
    for day in (1, 2):
        StrategyPerformance.objects.create(strategy=s, date=dt.date(2026, 12, day), total_trades=day,
                                           winning_trades=day, total_pnl=D("10"))
    rows = owner.get("strategies/performance/", {"date_after": "2026-12-02"}).json()["results"]
    assert [(r["date"], r["total_trades"], r["total_pnl"]) for r in rows] == [("2026-12-02", 2, "10.00")]
    assert ids(other.get("strategies/performance/")) == []


# --- capabilities, schema, query counts ----------------------------------------------------------------
def test_a_read_only_or_semi_auto_key_reads_but_changes_nothing(market):
    for mode in (OrderMode.READ_ONLY, OrderMode.SEMI_AUTO):
        reader = persona(UserFactory(), mode=mode)
        d = deploy(make_strategy(reader.user))
        assert reader.get("strategies/deployments/").status_code == 200
        assert reader.post(f"strategies/deployments/{d.pk}/pause/").status_code == 403
        assert reader.post("strategies/", NEW).status_code == 403
        d.refresh_from_db()
        assert d.status == DeploymentStatus.ACTIVE


def test_the_schema_documents_the_strategy_routes(owner):
    schema = owner.client.get("/api/schema/", {"format": "json"}).json()
    for path in ("/api/strategies/", "/api/strategies/deployments/{id}/pause/",
                 "/api/strategies/deployments/{id}/square-off/", "/api/strategies/signals/",
                 "/api/strategies/risk-events/", "/api/strategies/performance/", "/api/strategies/logs/"):
        assert path in schema["paths"], path


def test_the_deployment_list_costs_the_same_for_ten_rows(owner, django_assert_max_num_queries):
    s = make_strategy(owner.user)
    for n in range(10):
        d = deploy(make_strategy(owner.user, f"s{n}"))
        rule(d, "max_loss", "100")
    deploy(s)
    with django_assert_max_num_queries(9):  # key, count, page, rules, fills for the P&L, ...
        assert len(ids(owner.get("strategies/deployments/"))) == 11


def test_a_deployment_answers_with_fresh_pnl_without_any_risk_rule(owner):
    d = deploy(make_strategy(owner.user))
    long_position(d, 10)  # 10 at 800.05
    price("805")
    row = owner.get(f"strategies/deployments/{d.pk}/").json()
    assert (row["realized_pnl"], row["unrealized_pnl"], row["total_pnl"]) == ("0.00", "49.50", "49.50")
    [listed] = owner.get("strategies/deployments/").json()["results"]
    assert listed["total_pnl"] == "49.50"
