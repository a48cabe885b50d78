"""The official openalgo 2.0.5 client's strategy module (strategy_api.StrategyAPI), unchanged, against a live
server: list, status, start (its mode strictness), runs, orders, events, close_leg, close_all and stop,
and another user's strategy answering 404 like a missing one. The 2.0.x client is the copy scripts/setup
installs beside the 1.0.x one (requirements/feed-client.txt)."""
from __future__ import annotations

import importlib
import sys
import types
from pathlib import Path

import pytest
from django.conf import settings

from strategies.models import Deployment, DeploymentStatus
from tests.strategies.desk import *  # noqa: F403
from tests.strategies.desk import long_position, make_strategy
from trading.models import Action, Order

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]


def strategy_api_class():
    root = Path(settings.BASE_DIR) / ".venv" / "clients" / "openalgo-2" / "openalgo"
    if not (root / "strategy_api.py").exists():
        pytest.skip("the openalgo 2.0.x client is not installed: run scripts/setup dev")
    if "openalgo2" not in sys.modules:
        package = types.ModuleType("openalgo2")
        package.__path__ = [str(root)]  # its strategy_api and base modules only; not its package __init__
        sys.modules["openalgo2"] = package
    return importlib.import_module("openalgo2.strategy_api").StrategyAPI


def test_the_official_strategy_client_runs_a_strategy_end_to_end(live_server, owner, other):
    StrategyAPI = strategy_api_class()
    client = StrategyAPI(api_key=owner.key, host=live_server.url)
    strategy = make_strategy(owner.user)
    leg = strategy.symbols.get()

    listed = client.strategylist()
    assert [s["id"] for s in listed["data"]] == [strategy.pk], listed
    assert client.strategystatus(strategy_id=strategy.pk)["run"] is None

    refused = client.strategystart(strategy_id=strategy.pk, mode="LIVE")
    assert (refused["code"], refused["message"]) == (400, 'mode: must be exactly "live" or "sandbox".')
    started = client.strategystart(strategy_id=strategy.pk, mode="sandbox")
    assert (started["status"], started["mode"]) == ("success", "sandbox"), started
    run_id = started["run_id"]
    assert client.strategystart(strategy_id=strategy.pk, mode="sandbox")["code"] == 409
    assert client.strategystatus(strategy_id=strategy.pk)["run"]["id"] == run_id

    long_position(Deployment.objects.get(pk=run_id), 10)
    closed = client.strategycloseleg(strategy_id=strategy.pk, leg_id=leg.pk)
    assert (closed["status"], closed["run_stopped"], closed["exits"][0]["ok"]) == ("success", False, True), closed
    orders = client.strategyorders(strategy_id=strategy.pk, run_id=run_id)["data"]
    assert [(o["kind"], o["action"], o["qty"]) for o in orders] == [("entry", "BUY", 10), ("exit", "SELL", 10)]
    assert client.strategyruns(strategy_id=strategy.pk, limit=1)["data"][0]["id"] == run_id
    assert client.strategyruns(strategy_id=strategy.pk, limit=501)["code"] == 400

    stopped = client.strategycloseall(strategy_id=strategy.pk)
    assert (stopped["status"], stopped["stop_pending"], stopped["exits"]) == ("success", False, []), stopped
    assert Deployment.objects.get(pk=run_id).status == DeploymentStatus.STOPPED
    assert client.strategystop(strategy_id=strategy.pk)["code"] == 409
    kinds = [e["kind"] for e in client.strategyevents(strategy_id=strategy.pk)["data"]]
    assert {"run_started", "close_leg_manual", "close_all_manual", "run_stopped"} <= set(kinds)

    intruder = StrategyAPI(api_key=other.key, host=live_server.url)
    for answer in (intruder.strategystatus(strategy_id=strategy.pk), intruder.strategystop(strategy_id=strategy.pk),
                   intruder.strategycloseall(strategy_id=strategy.pk),
                   intruder.strategystatus(strategy_id=999999)):
        assert (answer["code"], answer["message"]) == (404, "Strategy not found.")
    assert Order.objects.filter(action=Action.SELL).count() == 1
