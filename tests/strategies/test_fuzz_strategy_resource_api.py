"""Schemathesis on the /api/strategies/ operations, with real rows of the owner behind the {id} paths:
no generated case, valid or not, may answer 5xx."""
from __future__ import annotations

import pytest

from strategies.models import RiskEvent, Signal, StrategyLog, StrategyPerformance
from tests.api.test_fuzz_resource_api import OPERATIONS, fuzz
from tests.strategies.desk import *  # noqa: F403
from tests.strategies.desk import deploy, make_strategy, rule

pytestmark = pytest.mark.django_db
MINE = [op for op in OPERATIONS if op.path.startswith("/api/strategies/")]


@pytest.fixture
def rows(owner):
    strategy = make_strategy(owner.user)
    deployment = deploy(strategy)
    risk_rule = rule(deployment, "max_loss", "100")
    return {  # longest prefixes first: the first that matches a path gives its {id}
        "/api/strategies/symbols/": strategy.symbols.get().pk,
        "/api/strategies/deployments/": deployment.pk,
        "/api/strategies/risk-rules/": risk_rule.pk,
        "/api/strategies/signals/": Signal.objects.create(strategy=strategy, status="accepted").pk,
        "/api/strategies/logs/": StrategyLog.objects.create(strategy=strategy, message="hello").pk,
        "/api/strategies/risk-events/": RiskEvent.objects.create(
            deployment=deployment, rule=risk_rule, rule_type="max_loss", threshold=100, value_seen=-120,
            action="paused").pk,
        "/api/strategies/performance/": StrategyPerformance.objects.create(strategy=strategy,
                                                                           date="2026-12-01").pk,
        "/api/strategies/": strategy.pk,
    }


def test_fuzz_strategy_reads_never_answer_5xx(owner, rows):
    fuzz(owner, rows, [op for op in MINE if op.method.upper() == "GET"], examples=120)


def test_fuzz_strategy_writes_never_answer_5xx(owner, rows):
    fuzz(owner, rows, [op for op in MINE if op.method.upper() != "GET"], examples=200)
