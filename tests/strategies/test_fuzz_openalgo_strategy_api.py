"""A hypothesis fuzz of /api/v1/strategy/*: from a valid body (a real strategy, leg and run of the owner),
fields dropped or made hostile, raw JSON no encoder writes; no body may answer 5xx."""
from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.api.fuzz import assert_no_server_error, fuzz_settings
from tests.api.test_fuzz_openalgo_api import VALUES, encode, mutate
from tests.strategies.desk import *  # noqa: F403
from tests.strategies.desk import deploy, long_position, make_strategy

pytestmark = pytest.mark.django_db


def templates(strategy, leg, run) -> dict[str, dict]:
    sid = {"strategy_id": strategy.pk}
    return {"list": {"status": "running", "q": "tr"}, "status": sid, "start": {**sid, "mode": "sandbox"},
            "stop": sid, "close_all": sid, "close_leg": {**sid, "leg_id": leg.pk}, "runs": {**sid, "limit": 5},
            "orders": {**sid, "run_id": run.pk},
            "events": {**sid, "run_id": run.pk, "kind": "risk_max_loss", "severity": "warn", "limit": 10}}


def test_fuzz_the_strategy_module_never_answers_5xx(owner):
    strategy = make_strategy(owner.user)
    run = deploy(strategy)
    long_position(run, 2)
    bodies = templates(strategy, strategy.symbols.get(), run)

    @fuzz_settings(examples=250)
    @given(data=st.data())
    def case(data):
        path = data.draw(st.sampled_from(sorted(bodies)))
        body = mutate(data, bodies[path]) if data.draw(st.integers(0, 9)) else data.draw(VALUES)
        text = encode(data, body, owner.key)
        request = f"POST /api/v1/strategy/{path} {text[:500]}"
        try:
            response = owner.client.generic("POST", f"/api/v1/strategy/{path}", text,
                                            content_type="application/json")
        except Exception as exc:  # the test client re-raises what the server would answer 500 to
            raise AssertionError(f"500 for {request}") from exc
        assert_no_server_error(response, request)
        json.loads(response.content)  # always JSON

    case()
