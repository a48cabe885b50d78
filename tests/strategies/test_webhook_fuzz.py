"""Random bodies at both webhooks: every answer is a 200 or a 400 in OpenAlgo's error shape, never a
5xx, whatever the JSON (hypothesis; the same cases every run)."""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.django_db

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                    st.text(max_size=12), st.sampled_from(["SBIN", "BUY", "SELL", "0", "-5", "10", "sbin", ""]))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                                         max_size=3), max_leaves=6)
FIELDS = ["symbol", "action", "position_size", "quantity", "exchange", "price", "idempotency_key", "token", "stocks",
          "trigger_prices", "scan_name", "alert_name"]
BODIES = st.one_of(st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=8), VALUES)


@settings(max_examples=50, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=BODIES, path=st.sampled_from(["strategy", "chartink"]))
def test_no_body_makes_a_webhook_fail(hook, body, path):
    response = hook.post(raw=json.dumps(body).encode(), path=path)
    assert response.status_code in (200, 400), (body, response.content)
    answer = response.json()
    assert answer["status"] in ("success", "error")
    assert isinstance(answer["message"], str)
    assert answer["message"]
