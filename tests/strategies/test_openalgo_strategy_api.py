"""OpenAlgo's strategy module at /api/v1/strategy/*, called exactly as the openalgo 2.0.5 client's
strategy_api.py calls it (POST, `apikey` and an int `strategy_id` in the body; close_all and close_leg
paths), over AlgoDesk's strategies, deployments, orders, signals and risk events."""
from __future__ import annotations

from decimal import Decimal as D

import pytest

from accounts.models import OrderMode
from strategies.models import Deployment, DeploymentStatus, RiskEvent, Signal, StrategySymbol
from strategies.services import riskmonitor
from tests.api.factories import TradingAccountFactory
from tests.factories import StaffFactory, UserFactory
from tests.strategies.desk import *  # noqa: F403
from tests.strategies.desk import deploy, long_position, make_strategy, persona, price, rule, trade
from trading.models import Action, Order

pytestmark = pytest.mark.django_db


def call(who, name: str, **fields):
    response = who.v1(f"strategy/{name}", fields)
    return response.status_code, response.json()


@pytest.fixture
def strategy(owner):
    return make_strategy(owner.user)


# --- reads ---------------------------------------------------------------------------------------------
def test_strategylist_lists_the_callers_strategies_newest_first(owner, other, strategy):
    second = make_strategy(owner.user, "breakout")
    make_strategy(other.user, "theirs")
    code, body = call(owner, "list")
    assert code == 200, body
    assert [s["id"] for s in body["data"]] == [second.pk, strategy.pk]
    row = body["data"][1]
    for field in ("id", "name", "strategy_kind", "direction", "product", "risk_rules", "live_enabled", "status",
                  "current_run_id", "last_finalized_run"):
        assert field in row
    assert (row["direction"], row["product"], row["status"], row["live_enabled"]) == ("long", "MIS", "stopped",
                                                                                      False)
    assert "legs" not in row


def test_strategylist_filters_by_status_and_name(owner, strategy):
    make_strategy(owner.user, "Breakout Nifty")
    deploy(strategy)
    assert [s["name"] for s in call(owner, "list", status="running")[1]["data"]] == ["trend"]
    assert [s["name"] for s in call(owner, "list", q="nifty")[1]["data"]] == ["Breakout Nifty"]
    assert call(owner, "list", status="active") == (400, {
        "status": "error", "message": "status: must be one of stopped, running, paused, errored."})
    assert call(owner, "list", q="x" * 101)[0] == 400


def test_strategystatus_has_the_legs_and_the_current_run(owner, strategy):
    code, body = call(owner, "status", strategy_id=strategy.pk)
    assert code == 200, body
    assert body["run"] is None
    assert [(leg["symbol"], leg["quantity"]) for leg in body["data"]["legs"]] == [("SBIN", 10)]
    d = deploy(strategy)
    body = call(owner, "status", strategy_id=strategy.pk)[1]
    assert body["data"]["current_run_id"] == d.pk
    assert (body["run"]["id"], body["run"]["mode"], body["run"]["broker"]) == (d.pk, "sandbox", "sandbox")


@pytest.mark.parametrize("bad", ["abc", 0, -3, 1.5, True, None])
def test_a_bad_strategy_id_is_a_400_naming_the_field(owner, bad):
    body = {} if bad is None else {"strategy_id": bad}
    code, answer = call(owner, "status", **body)
    assert code == 400
    assert answer["message"].startswith("strategy_id: ")


# --- isolation -----------------------------------------------------------------------------------------
ROUTES = [("status", {}), ("start", {"mode": "sandbox"}), ("stop", {}), ("close_all", {}), ("closeall", {}),
          ("close_leg", {"leg_id": 1}), ("closeleg", {"leg_id": 1}), ("runs", {}), ("orders", {}), ("events", {})]


@pytest.mark.parametrize(("route", "extra"), ROUTES)
def test_another_users_strategy_answers_exactly_as_a_missing_one(owner, other, strategy, route, extra):
    d = deploy(strategy)
    long_position(d)
    missing = call(other, route, strategy_id=999999, **extra)
    assert missing == (404, {"status": "error", "message": "Strategy not found."})
    assert call(other, route, strategy_id=strategy.pk, **extra) == missing
    d.refresh_from_db()
    assert d.status == DeploymentStatus.ACTIVE
    assert Order.objects.filter(deployment=d).count() == 1  # nothing closed


def test_a_house_strategys_subscriber_cannot_reach_it_through_this_api_but_the_operator_stops_them(market):
    operator = persona(StaffFactory())
    subscriber = persona(UserFactory())
    house = make_strategy(operator.user, "house", is_house=True)
    theirs = deploy(house, user=subscriber.user)
    long_position(theirs, 4)
    assert call(subscriber, "status", strategy_id=house.pk)[0] == 404
    code, body = call(operator, "stop", strategy_id=house.pk)
    assert code == 200, body
    [row] = body["exits"]
    assert (row["ok"], row["run_id"], row["quantity"]) == (True, theirs.pk, 4)
    exit_order = Order.objects.get(deployment=theirs, action=Action.SELL)
    assert exit_order.user == subscriber.user  # in the subscriber's books


# --- capabilities --------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", [OrderMode.SEMI_AUTO, OrderMode.READ_ONLY])
def test_keys_without_manage_may_read_but_not_start_or_close(market, mode):
    reader = persona(UserFactory(), mode=mode)
    s = make_strategy(reader.user)
    assert call(reader, "status", strategy_id=s.pk)[0] == 200
    for route, extra in (("start", {"mode": "sandbox"}), ("stop", {}), ("close_all", {}),
                         ("close_leg", {"leg_id": 1})):
        code, body = call(reader, route, strategy_id=s.pk, **extra)
        assert code == 403, (route, body)
    assert not Deployment.objects.filter(strategy=s).exists()


# --- start ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("fields", "message"), [
    ({}, 'mode: is required: "live" or "sandbox".'),
    ({"mode": "LIVE"}, 'mode: must be exactly "live" or "sandbox".'),
    ({"mode": "Sandbox"}, 'mode: must be exactly "live" or "sandbox".'),
    ({"mode": "paper"}, 'mode: must be exactly "live" or "sandbox".'),
    ({"mode": 1}, 'mode: must be exactly "live" or "sandbox".'),
])
def test_start_needs_an_exact_mode(owner, strategy, fields, message):
    assert call(owner, "start", strategy_id=strategy.pk, **fields) == (400, {"status": "error", "message": message})
    assert not Deployment.objects.exists()


def test_start_in_sandbox_creates_and_runs_the_sandbox_deployment_once(owner, strategy):
    code, body = call(owner, "start", strategy_id=strategy.pk, mode="sandbox")
    assert code == 200, body
    d = Deployment.objects.get(strategy=strategy)
    assert (body["status"], body["run_id"], body["mode"], body["legs"]) == ("success", d.pk, "sandbox", [])
    assert (d.status, d.account) == (DeploymentStatus.ACTIVE, None)
    assert call(owner, "start", strategy_id=strategy.pk, mode="sandbox") == (409, {
        "status": "error", "message": "Strategy is already running in sandbox mode."})


def test_live_start_needs_a_live_deployment(owner, strategy):
    code, body = call(owner, "start", strategy_id=strategy.pk, mode="live")
    assert code == 409
    assert body["message"].startswith("Live trading is not enabled for this strategy")
    account = TradingAccountFactory(user=owner.user, name="zerodha")
    live = Deployment.objects.create(strategy=strategy, user=owner.user, mode="live", account=account,
                                     status=DeploymentStatus.STOPPED)
    code, body = call(owner, "start", strategy_id=strategy.pk, mode="live")
    assert (code, body["run_id"], body["mode"]) == (200, live.pk, "live")


def test_start_resumes_a_paused_deployment(owner, strategy):
    d = deploy(strategy, status=DeploymentStatus.PAUSED)
    assert call(owner, "start", strategy_id=strategy.pk, mode="sandbox")[1]["run_id"] == d.pk
    d.refresh_from_db()
    assert d.status == DeploymentStatus.ACTIVE


# --- stop, close all, close leg ------------------------------------------------------------------------
def test_stop_stops_the_run_and_exits_its_positions_through_the_pipeline(owner, strategy):
    d = deploy(strategy)
    long_position(d, 10)
    code, body = call(owner, "stop", strategy_id=strategy.pk)
    assert code == 200, body
    assert (body["run_id"], body["stop_pending"]) == (d.pk, False)
    [row] = body["exits"]
    leg = StrategySymbol.objects.get(strategy=strategy)
    assert (row["leg_id"], row["ok"], row["exit_owner"], row["error"], row["quantity"]) == (
        leg.pk, True, "sandbox", None, 10)
    d.refresh_from_db()
    assert d.status == DeploymentStatus.STOPPED
    assert d.stopped_at is not None
    sell = Order.objects.get(deployment=d, action=Action.SELL)
    assert (sell.quantity, sell.status, sell.broker_order_id) == (D("10"), "COMPLETE", row["orderid"])
    assert call(owner, "stop", strategy_id=strategy.pk) == (409, {
        "status": "error", "message": "Strategy is not running.", "stop_pending": False})


def test_close_all_is_a_stop_with_the_operators_intent_on_record(owner, strategy):
    d = deploy(strategy)
    long_position(d, 5)
    code, body = call(owner, "close_all", strategy_id=strategy.pk)
    assert code == 200, body
    assert body["exits"][0]["ok"] is True
    kinds = [e["kind"] for e in call(owner, "events", strategy_id=strategy.pk)[1]["data"]]
    assert "close_all_manual" in kinds
    assert "run_stopped" in kinds


def test_close_leg_closes_one_symbol_and_the_run_goes_on(owner, market, strategy):
    future = StrategySymbol.objects.create(strategy=strategy, exchange="NFO", symbol="NIFTY30DEC26FUT",
                                           quantity=D("75"))
    sbin = StrategySymbol.objects.get(strategy=strategy, symbol="SBIN")
    d = deploy(strategy)
    long_position(d, 10)
    trade(d, Action.BUY, 75, symbol="NIFTY30DEC26FUT", exchange="NFO")
    code, body = call(owner, "close_leg", strategy_id=strategy.pk, leg_id=future.pk)
    assert code == 200, body
    assert (body["leg_id"], body["run_stopped"], [e["leg_id"] for e in body["exits"]]) == (
        future.pk, False, [future.pk])
    d.refresh_from_db()
    assert d.status == DeploymentStatus.ACTIVE
    assert not Order.objects.filter(deployment=d, symbol="SBIN", action=Action.SELL).exists()
    # Closed already: no open leg left to close.
    assert call(owner, "close_leg", strategy_id=strategy.pk, leg_id=future.pk)[0] == 409
    assert call(owner, "closeleg", strategy_id=strategy.pk, leg_id=sbin.pk)[0] == 200


def test_close_leg_of_another_strategys_leg_or_without_a_leg_id(owner, strategy):
    deploy(strategy)
    theirs = make_strategy(UserFactory(), "theirs").symbols.get()
    assert call(owner, "close_leg", strategy_id=strategy.pk, leg_id=theirs.pk)[0] == 409
    assert call(owner, "close_leg", strategy_id=strategy.pk)[1]["message"] == "leg_id: is required."


# --- runs, orders, events ------------------------------------------------------------------------------
def test_strategyruns_has_the_clients_fields_and_checks_its_limit(owner, strategy):
    d = deploy(strategy)
    code, body = call(owner, "runs", strategy_id=strategy.pk)
    assert code == 200, body
    [run] = body["data"]
    for field in ("id", "mode", "broker", "started_at", "stopped_at", "stop_reason", "stop_requested_at",
                  "stop_requested_reason", "pnl_realized", "pnl_peak", "pnl_trough", "trigger_source",
                  "webhook_event_id", "resolved_expiries"):
        assert field in run
    assert run["id"] == d.pk
    assert call(owner, "runs", strategy_id=strategy.pk, limit=0)[1]["message"] == "limit: must be between 1 and 500."
    assert call(owner, "runs", strategy_id=strategy.pk, limit=501)[0] == 400
    assert call(owner, "runs", strategy_id=strategy.pk, limit="1")[0] == 200


def test_strategyorders_lists_entries_then_exits_and_narrows_by_run(owner, other, strategy):
    d = deploy(strategy)
    long_position(d, 10)
    call(owner, "stop", strategy_id=strategy.pk)
    code, body = call(owner, "orders", strategy_id=strategy.pk)
    assert code == 200, body
    entry, exit_ = body["data"]
    assert (entry["kind"], entry["action"], entry["qty"], entry["status"]) == ("entry", "BUY", 10, "complete")
    assert (exit_["kind"], exit_["action"], exit_["run_id"]) == ("exit", "SELL", d.pk)
    for field in ("id", "run_id", "leg_id", "kind", "position_ref", "broker_order_id", "symbol", "exchange",
                  "action", "qty", "product", "pricetype", "price", "status", "placed_at", "filled_at",
                  "avg_fill_price", "filled_qty", "reject_reason"):
        assert field in entry
    theirs = deploy(make_strategy(other.user))
    assert call(owner, "orders", strategy_id=strategy.pk, run_id=theirs.pk)[1]["data"] == []


def test_strategyevents_reads_risk_events_signals_and_the_log(owner, strategy):
    d = deploy(strategy)
    rule(d, "max_loss", "100")
    long_position(d)
    price("780")
    riskmonitor.sweep()
    Signal.objects.create(strategy=strategy, status="refused", reason="Outside the entry window.")
    code, body = call(owner, "events", strategy_id=strategy.pk)
    assert code == 200, body
    kinds = [e["kind"] for e in body["data"]]
    assert {"risk_max_loss", "signal_refused"} <= set(kinds)
    risk = next(e for e in body["data"] if e["kind"] == "risk_max_loss")
    assert (risk["run_id"], risk["severity"], risk["payload"]["value_seen"]) == (d.pk, "warn", -200.5)
    assert risk["payload"]["order_ids"] == RiskEvent.objects.get().order_ids
    only = call(owner, "events", strategy_id=strategy.pk, kind="signal_refused")[1]["data"]
    assert [e["kind"] for e in only] == ["signal_refused"]
    assert [e["kind"] for e in call(owner, "events", strategy_id=strategy.pk, severity="warn", limit=1)[1]["data"]] \
        in (["risk_max_loss"], ["signal_refused"], ["log"])
    assert call(owner, "events", strategy_id=strategy.pk, kind="explosion")[0] == 400
    assert call(owner, "events", strategy_id=strategy.pk, limit=1001)[0] == 400


def test_every_route_answers_with_or_without_a_trailing_slash(owner, strategy):
    assert owner.v1("strategy/list/").status_code == 200
    assert owner.v1("strategy/nothing").status_code == 404
