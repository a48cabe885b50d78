"""Latency percentiles and SLA shares (analytics.services.latency, /api/analytics/latency/).

The percentiles are checked against a reference computed here in Python on known data, on whichever
database runs the suite; on PostgreSQL the percentile_cont query and the portable window-function
path must give identical figures.
"""
from __future__ import annotations

import datetime as dt
import math
import random
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analytics.services.latency import PERCENTILES, LatencyQuery, latency_report
from tests.api.conftest import Persona, persona
from tests.factories import StaffFactory, UserFactory
from tests.trading.factories import TradingAccountFactory
from trading.models import Order

pytestmark = pytest.mark.django_db

UTC = dt.UTC
IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
# 18:29 UTC is 23:59 IST on the 1st; 18:31 UTC is 00:01 IST on the 2nd: days are IST days.
DAY1 = dt.datetime(2026, 12, 1, 18, 29, tzinfo=UTC)
DAY2 = dt.datetime(2026, 12, 1, 18, 31, tzinfo=UTC)
RANGE = {"since": dt.datetime(2026, 11, 30, tzinfo=UTC), "until": dt.datetime(2026, 12, 3, tzinfo=UTC)}


def reference(values: list[float], p: float) -> float:
    """The continuous percentile (linear interpolation between closest ranks), as SQL defines it."""
    ordered = sorted(values)
    h = p * (len(ordered) - 1)
    lo = math.floor(h)
    if lo + 1 >= len(ordered):
        return ordered[lo]
    return ordered[lo] + (ordered[lo + 1] - ordered[lo]) * (h - lo)


def ms(value: float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.001"))


def place(user, *, broker_ms, overhead_ms, at=DAY1, account=None, validation_ms="1.000") -> Order:
    return Order(user=user, account=account, exchange="NSE", symbol="SBIN", action="BUY", quantity=1,
                 placed_at=at, validation_ms=Decimal(validation_ms),
                 broker_ms=None if broker_ms is None else ms(broker_ms),
                 overhead_ms=None if overhead_ms is None else ms(overhead_ms))


@pytest.fixture
def known():
    """Two users; 3 groups (user a on openalgo and the sandbox, user b on the sandbox) over two IST days."""
    rng = random.Random(20261201)
    a, b = UserFactory(), UserFactory()
    live = TradingAccountFactory(user=a, broker="openalgo", is_primary=False)
    orders, totals = [], {}
    for user, account, count in ((a, live, 137), (a, None, 64), (b, None, 29)):
        for i in range(count):
            broker, overhead = round(rng.uniform(5, 260), 3), round(rng.uniform(0.2, 9), 3)
            at = DAY1 if i % 3 else DAY2
            orders.append(place(user, broker_ms=broker, overhead_ms=overhead, at=at, account=account))
            total = float(ms(broker) + ms(overhead))
            broker_name = "openalgo" if account else "sandbox"
            day = at.astimezone(IST).date()
            for key in ("all", ("broker", broker_name), ("user", user.pk), ("day", day),
                        (broker_name, user.pk, day)):
                totals.setdefault(key, []).append(total)
    # Never counted in the total: a risk refusal (no broker time) and an order outside the range.
    orders.append(place(a, broker_ms=None, overhead_ms=None, validation_ms="0.500"))
    orders.append(place(b, broker_ms=1, overhead_ms=1, at=RANGE["until"]))
    Order.objects.bulk_create(orders)
    return a, b, totals


def check(row: dict, values: list[float]) -> None:
    assert row["count"] == len(values)
    for name, p in PERCENTILES:
        assert row[f"{name}_ms"] == pytest.approx(reference(values, p), rel=1e-12, abs=1e-9), name
    assert row["max_ms"] == pytest.approx(max(values))
    assert row["mean_ms"] == pytest.approx(sum(values) / len(values), rel=1e-9)
    for sla in row["sla"]:
        under = sum(1 for v in values if v < sla["under_ms"])
        assert (sla["count"], sla["share"]) == (under, pytest.approx(under / len(values)))


def test_it_matches_the_reference_over_the_whole_range(known):
    _, _, totals = known
    (row,) = latency_report(Order.objects.all(), LatencyQuery(**RANGE))
    check(row, totals["all"])
    assert (row["broker"], row["user_id"], row["day"]) == (None, None, None)


@pytest.mark.parametrize("group", ["broker", "user", "day"])
def test_it_matches_the_reference_per_group(known, group):
    _, _, totals = known
    report = latency_report(Order.objects.all(), LatencyQuery(**RANGE, group_by=(group,)))
    expected = {key[1]: values for key, values in totals.items() if isinstance(key, tuple) and key[0] == group}
    field = {"broker": "broker", "user": "user_id", "day": "day"}[group]
    assert {row[field] for row in report} == set(expected)
    for row in report:
        check(row, expected[row[field]])


def test_it_groups_by_broker_user_and_day_at_once_in_one_query(known):
    _a, _b, totals = known
    with CaptureQueriesContext(connection) as queries:
        report = latency_report(Order.objects.all(), LatencyQuery(**RANGE, group_by=("broker", "user", "day")))
    assert len(queries) == 1
    assert [(r["broker"], r["username"], r["day"]) for r in report] == sorted(
        (r["broker"], r["username"], r["day"]) for r in report)
    assert len(report) == 6  # openalgo/a, sandbox/a, sandbox/b, each on two IST days
    for row in report:
        check(row, totals[(row["broker"], row["user_id"], row["day"])])
    assert {row["day"] for row in report} == {dt.date(2026, 12, 1), dt.date(2026, 12, 2)}


@pytest.mark.postgres
def test_percentile_cont_and_the_portable_path_are_identical_on_postgresql(known):
    for group_by in ((), ("broker",), ("broker", "user", "day")):
        query = LatencyQuery(**RANGE, group_by=group_by)
        native = latency_report(Order.objects.all(), query, portable=False)
        portable = latency_report(Order.objects.all(), query, portable=True)
        strip = [{k: v for k, v in row.items() if k != "mean_ms"} for row in native]
        assert strip == [{k: v for k, v in row.items() if k != "mean_ms"} for row in portable]  # exactly
        assert [r["mean_ms"] for r in native] == pytest.approx([r["mean_ms"] for r in portable])


def test_sla_shares_count_orders_strictly_under_each_threshold():
    user = UserFactory()
    # Totals: 99.999, 100 (60.1 + 39.9, a float sum a hair under 100 if not rounded), 149.999, 150, 200, 250.
    Order.objects.bulk_create([place(user, broker_ms=b, overhead_ms=o) for b, o in (
        (90, 9.999), (60.1, 39.9), (140, 9.999), (149.9, 0.1), (199.999, 0.001), (240, 10))])
    (row,) = latency_report(Order.objects.all(), LatencyQuery(**RANGE))
    assert [(s["under_ms"], s["count"]) for s in row["sla"]] == [(100, 1), (150, 3), (200, 4)]
    assert [s["share"] for s in row["sla"]] == [pytest.approx(1 / 6), 0.5, pytest.approx(4 / 6)]
    assert (row["p50_ms"], row["max_ms"]) == (pytest.approx(149.9995), 250)


def test_a_single_order_and_no_order(known):
    _a, _, _ = known
    lonely = UserFactory()
    Order.objects.bulk_create([place(lonely, broker_ms=12.5, overhead_ms=0.5)])
    (row,) = latency_report(Order.objects.for_user(lonely), LatencyQuery(**RANGE, group_by=("day",)))
    assert [row[f"{name}_ms"] for name, _ in PERCENTILES] == [13.0] * 4
    assert latency_report(Order.objects.for_user(UserFactory()), LatencyQuery(**RANGE)) == []


def test_metrics_other_than_total(known):
    a, _, _ = known
    broker = latency_report(Order.objects.for_user(a), LatencyQuery(**RANGE, metric="broker"))[0]
    total = latency_report(Order.objects.for_user(a), LatencyQuery(**RANGE))[0]
    assert broker["count"] == total["count"] == 201
    assert broker["p50_ms"] < total["p50_ms"]
    validation = latency_report(Order.objects.for_user(a), LatencyQuery(**RANGE, metric="validation"))[0]
    assert validation["count"] == 202  # the risk refusal has a validation time
    assert validation["p50_ms"] == 1.0


def test_the_broker_filter(known):
    _a, _b, totals = known
    (row,) = latency_report(Order.objects.all(), LatencyQuery(**RANGE, broker="openalgo"))
    check(row, totals[("broker", "openalgo")])
    (row,) = latency_report(Order.objects.all(), LatencyQuery(**RANGE, broker="sandbox"))
    check(row, totals[("broker", "sandbox")])


# --- /api/analytics/latency/ -------------------------------------------------------------------

URL = "analytics/latency/"


@pytest.fixture
def owner(market) -> Persona:
    return persona(UserFactory())


@pytest.fixture
def other(market) -> Persona:
    return persona(UserFactory())


@pytest.fixture
def operator(market) -> Persona:
    return persona(StaffFactory())


API_RANGE = {"from": "2026-11-30T00:00:00Z", "to": "2026-12-03T00:00:00+00:00"}


def seed(persona, totals_ms: list[float]) -> None:
    Order.objects.bulk_create([place(persona.user, broker_ms=t - 1, overhead_ms=1) for t in totals_ms])


def test_a_trader_sees_only_their_own_figures(owner, other):
    seed(owner, [10, 20, 30])
    seed(other, [500, 600])
    response = owner.get(URL, API_RANGE)
    assert response.status_code == 200, response.json()
    body = response.json()
    (row,) = body["results"]
    assert (row["count"], row["p50_ms"], row["max_ms"]) == (3, 20.0, 30.0)
    assert body["metric"] == "total"
    assert body["group_by"] == []
    by_user = owner.get(URL, {**API_RANGE, "group_by": "user"}).json()["results"]
    assert [(r["user_id"], r["username"]) for r in by_user] == [(owner.user.pk, owner.user.username)]


def test_a_trader_may_not_name_another_user(owner, other):
    seed(other, [500])
    response = owner.get(URL, {**API_RANGE, "user": other.user.pk})
    assert response.status_code == 400
    assert "user" in response.json()
    assert owner.get(URL, {**API_RANGE, "user": owner.user.pk}).status_code == 200


def test_an_operator_sees_everyone_and_may_filter_by_user(owner, other, operator):
    seed(owner, [10, 20, 30])
    seed(other, [500, 600])
    rows = operator.get(URL, {**API_RANGE, "group_by": "user"}).json()["results"]
    assert {r["user_id"]: r["count"] for r in rows} == {owner.user.pk: 3, other.user.pk: 2}
    (row,) = operator.get(URL, {**API_RANGE, "user": other.user.pk}).json()["results"]
    assert (row["count"], row["p50_ms"]) == (2, 550.0)
    assert row["sla"] == [{"under_ms": 100, "count": 0, "share": 0.0}, {"under_ms": 150, "count": 0, "share": 0.0},
                          {"under_ms": 200, "count": 0, "share": 0.0}]


def test_the_api_runs_a_fixed_number_of_queries(owner, operator):
    seed(owner, [10, 20, 30])
    params = {**API_RANGE, "group_by": "broker,user,day"}
    assert operator.get(URL, params).status_code == 200  # the key's lookup is cached after the first request
    with CaptureQueriesContext(connection) as few:
        assert operator.get(URL, params).status_code == 200
    other_user = UserFactory()
    Order.objects.bulk_create([place(other_user, broker_ms=5, overhead_ms=1, at=DAY2 + dt.timedelta(hours=h))
                               for h in range(30)])
    with CaptureQueriesContext(connection) as many:
        assert len(operator.get(URL, params).json()["results"]) > 2
    assert len(many) == len(few)
    report_queries = [q for q in many.captured_queries if "trading_order" in q["sql"]]
    assert len(report_queries) == 1


@pytest.mark.parametrize(("params", "field"), [
    ({"from": "2026-11-30T00:00:00"}, "from"),  # naive
    ({"from": "yesterday"}, "from"),
    ({"to": "2026-11-29T00:00:00Z", "from": "2026-11-30T00:00:00Z"}, "to"),
    ({"from": "2024-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "to"),  # longer than a year
    ({"metric": "speed"}, "metric"),
    ({"broker": "acme"}, "broker"),
    ({"group_by": "broker,week"}, "group_by"),
    ({"user": "me"}, "user"),
])
def test_bad_parameters_are_400_naming_the_field(owner, params, field):
    response = owner.get(URL, params)
    assert response.status_code == 400
    assert field in response.json(), response.json()


def test_the_default_range_is_the_last_seven_days(owner):
    Order.objects.bulk_create([place(owner.user, broker_ms=9, overhead_ms=1, at=dt.datetime.now(UTC)),
                               place(owner.user, broker_ms=9, overhead_ms=1,
                                     at=dt.datetime.now(UTC) - dt.timedelta(days=8))])
    (row,) = owner.get(URL).json()["results"]
    assert row["count"] == 1


def test_anonymous_requests_are_refused(client):
    assert client.get("/api/analytics/latency/").status_code in (401, 403)


def test_the_endpoint_is_in_the_schema(market):
    out = StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    schema = out.getvalue()
    assert "/api/analytics/latency/:" in schema
    for name in ("from", "to", "metric", "broker", "group_by", "user"):
        assert f"name: {name}\n" in schema, name
