"""/api/analytics/pnl/ and /api/analytics/api-logs/: a trader's own figures, an operator's of everyone, filters,
400s that name the field, and both in the OpenAPI schema."""
from __future__ import annotations

import datetime as dt

import pytest

from analytics.models import ApiLog
from analytics.services import pnl
from tests.analytics import desk
from tests.analytics.conftest import ALL
from tests.api.conftest import session

pytestmark = pytest.mark.django_db(databases=ALL)


@pytest.fixture
def seeded():
    return desk.seed()


def days(seeded) -> dict:
    today = pnl.today(seeded.now)
    return {"from": (today - dt.timedelta(days=6)).isoformat(), "to": today.isoformat()}


def test_a_trader_sees_their_own_pnl_per_day_and_strategy(seeded):
    body = session(seeded.alice).get("/api/analytics/pnl/", {**days(seeded), "group_by": "strategy,mode"}).json()
    today, yesterday = pnl.today(seeded.now), pnl.today(seeded.now) - dt.timedelta(days=1)
    assert body["total"] == "1249.50"
    assert [(r["day"], r["strategy"], r["mode"], r["realized_pnl"]) for r in body["results"]] == [
        (yesterday.isoformat(), "meanrev", "sandbox", "-250.50"), (today.isoformat(), "momentum", "sandbox", "1500.00")]
    assert {r["user_id"] for r in body["results"]} == {None}  # not grouped by user


def test_a_trader_never_sees_another_users_pnl(seeded):
    alice = session(seeded.alice)
    assert alice.get("/api/analytics/pnl/", {**days(seeded), "user": seeded.bob.pk}).status_code == 400
    body = alice.get("/api/analytics/pnl/", {**days(seeded), "group_by": "user"}).json()
    assert {r["username"] for r in body["results"]} == {"alice"}


def test_an_operator_sees_everyone_and_may_narrow_to_one_user(seeded):
    ops = session(seeded.operator)
    body = ops.get("/api/analytics/pnl/", {**days(seeded), "group_by": "user"}).json()
    assert body["total"] == "1669.75"  # 1,500 - 250.50 + 320.25 + 100
    assert {r["username"] for r in body["results"]} == {"alice", "bob"}
    bob = ops.get("/api/analytics/pnl/", {**days(seeded), "user": seeded.bob.pk, "mode": "live"}).json()
    assert bob["total"] == "420.25"
    untagged = ops.get("/api/analytics/pnl/", {**days(seeded), "strategy": ""}).json()
    assert untagged["total"] == "420.25"
    momentum = ops.get("/api/analytics/pnl/", {**days(seeded), "strategy": "momentum"}).json()
    assert momentum["total"] == "1500.00"


@pytest.mark.parametrize(("params", "field"), [
    ({"from": "2026-13-01"}, "from"), ({"from": "2026-12-02", "to": "2026-12-01"}, "to"),
    ({"from": "2024-01-01", "to": "2026-01-01"}, "to"), ({"group_by": "broker"}, "group_by"),
    ({"mode": "paper"}, "mode"), ({"from": "0001-01-01", "to": "0001-01-02"}, "from")])
def test_bad_input_gets_a_400_naming_the_field(seeded, params, field):
    answer = session(seeded.alice).get("/api/analytics/pnl/", params)
    assert answer.status_code == 400
    assert field in answer.json()


def _log(user, status: int, endpoint: str = "/api/v1/placeorder") -> ApiLog:
    return ApiLog.objects.create(user_id=user.pk if user else None, username=getattr(user, "username", ""),
                                 method="POST", endpoint=endpoint, status=status, duration_ms=4.2,
                                 request_body='{"apikey": "[redacted]"}')


def test_a_trader_reads_their_own_api_log_newest_first(seeded):
    first, second = _log(seeded.alice, 200), _log(seeded.alice, 400)
    _log(seeded.bob, 200)
    body = session(seeded.alice).get("/api/analytics/api-logs/").json()
    assert [r["id"] for r in body["results"]] == [second.pk, first.pk]
    errors = session(seeded.alice).get("/api/analytics/api-logs/", {"errors": "true"}).json()
    assert [r["status"] for r in errors["results"]] == [400]
    assert session(seeded.alice).get("/api/analytics/api-logs/", {"user": seeded.bob.pk}).status_code == 400


def test_an_operator_reads_everyones_api_log_and_filters_it(seeded):
    _log(seeded.alice, 200)
    bobs = _log(seeded.bob, 500, "/api/v1/funds")
    ops = session(seeded.operator)
    assert len(ops.get("/api/analytics/api-logs/").json()["results"]) == 2
    narrowed = ops.get("/api/analytics/api-logs/", {"user": seeded.bob.pk, "endpoint": "/api/v1/f"}).json()
    assert [r["id"] for r in narrowed["results"]] == [bobs.pk]
    assert ops.get("/api/analytics/api-logs/", {"status": "99999"}).status_code == 400


def test_both_are_in_the_openapi_schema(seeded):
    schema = session(seeded.alice).get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert {"/api/analytics/pnl/", "/api/analytics/api-logs/"} <= set(schema["paths"])
    params = {p["name"] for p in schema["paths"]["/api/analytics/pnl/"]["get"]["parameters"]}
    assert {"from", "to", "group_by", "mode", "strategy", "user"} <= params


def test_fuzzing_them_never_answers_5xx(owner):
    from tests.api.test_fuzz_resource_api import READS, fuzz

    mine = [op for op in READS if op.path in ("/api/analytics/pnl/", "/api/analytics/api-logs/")]
    assert len(mine) == 2
    fuzz(owner, {}, mine, examples=120)
