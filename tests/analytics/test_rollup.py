"""Daily latency rollups (analytics.services.rollup): their figures against the exact report and a
reference computed here on known data, on whichever database runs the suite; idempotent reruns; the
beat task and its schedule; /api/analytics/latency/ answering from rollups within the stated precision.
"""
from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_celery_beat.models import PeriodicTask

from analytics.models import LatencyRollup, LatencyRollupDay
from analytics.services import rollup
from analytics.services.latency import PERCENTILES, LatencyQuery, latency_report
from analytics.tasks import roll_latency_days
from tests.analytics.test_latency import IST, operator, owner, place, reference  # noqa: F401 (fixtures)
from tests.factories import UserFactory
from tests.trading.factories import TradingAccountFactory
from trading.models import Order

pytestmark = pytest.mark.django_db

DAYS = [dt.date(2026, 11, 20), dt.date(2026, 11, 21), dt.date(2026, 11, 22)]
# From the middle of the first day to the middle of the day after the last: two partial days live.
RANGE = {"since": dt.datetime(2026, 11, 19, 12, tzinfo=IST), "until": dt.datetime(2026, 11, 23, 12, tzinfo=IST)}


def at(day: dt.date, hour: float) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), IST) + dt.timedelta(hours=hour)


@pytest.fixture
def spread():
    """Two users, a live broker and the sandbox; totals from 0.2 ms to 3 s over five IST days (the first
    and the last only partly in RANGE), so every bucket width below 10 s is used."""
    rng = random.Random(7)
    a, b = UserFactory(), UserFactory()
    live = TradingAccountFactory(user=a, broker="openalgo", is_primary=False)
    orders = []
    for day in [DAYS[0] - dt.timedelta(days=1), *DAYS, DAYS[-1] + dt.timedelta(days=1)]:
        for user, account in ((a, live), (a, None), (b, None)):
            for _ in range(rng.randint(40, 90)):
                total = 10 ** rng.uniform(-0.7, 3.5)
                overhead = round(min(total / 2, rng.uniform(0.05, 6)), 3)
                orders.append(place(user, broker_ms=max(0.0, total - overhead), overhead_ms=overhead,
                                    at=at(day, rng.uniform(0, 24)), account=account,
                                    validation_ms=f"{rng.uniform(0.1, 3):.3f}"))
    orders.append(place(a, broker_ms=None, overhead_ms=None, at=at(DAYS[1], 10)))  # a risk refusal
    Order.objects.bulk_create(orders)
    return a, b


def close(rolled: dict, exact: dict) -> None:
    """Counts, means, maxima and SLA shares equal; percentiles within the stated precision."""
    assert {k: rolled[k] for k in ("broker", "user_id", "username", "day", "count", "sla")} == \
           {k: exact[k] for k in ("broker", "user_id", "username", "day", "count", "sla")}
    assert rolled["mean_ms"] == pytest.approx(exact["mean_ms"], rel=1e-9)
    assert rolled["max_ms"] == pytest.approx(exact["max_ms"], abs=1e-9)
    for name, _ in PERCENTILES:
        assert rolled[f"{name}_ms"] == pytest.approx(exact[f"{name}_ms"], rel=rollup.PRECISION, abs=1e-9), name


def roll_all() -> None:
    for day in DAYS:
        rollup.roll_day(day)


def test_the_sql_buckets_match_the_reference_and_keep_the_sla_edges():
    user = UserFactory()
    totals = [0.0, 0.001, 0.999, 1.0, 1.009, 9.999, 10.0, 12.345, 99.999, 100.0, 100.999, 149.999, 150.0,
              199.999, 200.0, 999.999, 1000.0, 12345.678, 9999999.999]
    Order.objects.bulk_create([place(user, broker_ms=t, overhead_ms=0, at=at(DAYS[0], 1)) for t in totals])
    start, end = (at(DAYS[0], 0), at(DAYS[0], 24))
    rows = rollup.histogram_rows(Order.objects.all(), LatencyQuery(since=start, until=end), [(start, end)], [])
    found = {row["bucket"]: row["n"] for row in rows}
    expected: dict[int, int] = {}
    for total in totals:
        edge = rollup.bucket(round(total * 1000))
        expected[edge] = expected.get(edge, 0) + 1
    assert found == expected
    assert (rollup.bucket(100_000), rollup.bucket(99_999)) == (100_000, 99_900)
    assert [rollup.width(us) for us in (999, 1000, 99_999, 100_000, 10**12)] == [1, 10, 100, 1000, 10**9]


@pytest.mark.parametrize("group_by", [(), ("broker",), ("user",), ("day",), ("broker", "user", "day")])
def test_rolled_figures_match_the_exact_report_within_the_precision(spread, group_by):
    query = LatencyQuery(**RANGE, group_by=group_by)
    exact = latency_report(Order.objects.all(), query)
    assert rollup.report(query).percentile_precision == 0  # nothing rolled: the exact report
    roll_all()
    found = rollup.report(query)
    assert found.percentile_precision == rollup.PRECISION
    assert len(found.results) == len(exact) > 0
    for rolled, reference_row in zip(found.results, exact, strict=True):
        close(rolled, reference_row)


def test_rolled_percentiles_match_a_python_reference_on_known_values(spread):
    a, _ = spread
    roll_all()
    start, end = rollup.whole_days(*RANGE.values())[0], DAYS[-1]
    assert (start, end) == (DAYS[0], DAYS[-1])
    since, until = at(DAYS[0], 0), at(DAYS[-1], 24)  # the rolled days only: no live part
    values = [float(o.broker_ms + o.overhead_ms) for o in Order.objects.filter(
        user=a, placed_at__gte=since, placed_at__lt=until, broker_ms__isnull=False)]
    with CaptureQueriesContext(connection) as queries:
        (row,) = rollup.report(LatencyQuery(since=since, until=until), user_id=a.pk).results
    assert not [q for q in queries.captured_queries if "trading_order" in q["sql"]]  # rollups only
    assert row["count"] == len(values)
    for name, p in PERCENTILES:
        assert row[f"{name}_ms"] == pytest.approx(reference(values, p), rel=rollup.PRECISION), name
    assert row["max_ms"] == pytest.approx(max(values))
    assert [s["count"] for s in row["sla"]] == [sum(v < limit for v in values) for limit in (100, 150, 200)]


def test_every_metric_and_the_broker_filter_and_one_users_scope(spread):
    a, b = spread
    roll_all()
    for metric in ("total", "broker", "overhead", "validation"):
        for broker in (None, "openalgo", "sandbox"):
            for user in (None, a, b):
                query = LatencyQuery(**RANGE, metric=metric, broker=broker, group_by=("day",))
                scope = Order.objects.all() if user is None else Order.objects.for_user(user)
                exact = latency_report(scope, query)
                rolled = rollup.report(query, user_id=user and user.pk).results
                assert len(rolled) == len(exact), (metric, broker, user)
                for mine, theirs in zip(rolled, exact, strict=True):
                    close(mine, theirs)


def test_rolling_a_day_again_gives_the_same_rows():
    user = UserFactory()
    Order.objects.bulk_create([place(user, broker_ms=b, overhead_ms=1, at=at(DAYS[0], 3)) for b in (5, 50, 500)])

    def rows():
        return sorted(LatencyRollup.objects.values_list("day", "broker", "user_id", "metric", "count", "sum_us",
                                                         "max_us", "buckets"), key=str)

    assert rollup.roll_day(DAYS[0]) == 3
    first = rows()
    assert len(first) == 8  # 4 metrics x (the user's row + all users' row) of the sandbox
    assert rollup.roll_day(DAYS[0]) == 3
    assert rows() == first
    assert LatencyRollupDay.objects.get(day=DAYS[0]).orders == 3
    # A late order of that day is counted when the day is rolled again.
    Order.objects.bulk_create([place(user, broker_ms=7, overhead_ms=1, at=at(DAYS[0], 4))])
    assert rollup.roll_day(DAYS[0]) == 4
    assert LatencyRollup.objects.get(day=DAYS[0], user=None, metric="total").buckets == [
        6000, 1, 8000, 1, 51000, 1, 501000, 1]


def test_a_day_without_orders_is_rolled_empty_and_read_as_empty():
    user = UserFactory()
    Order.objects.bulk_create([place(user, broker_ms=9, overhead_ms=1, at=at(DAYS[0], 3))])
    assert rollup.roll_day(DAYS[1]) == 0
    assert not LatencyRollup.objects.exists()
    report = rollup.report(LatencyQuery(since=at(DAYS[0], 0), until=at(DAYS[2], 0)))
    assert report.percentile_precision == rollup.PRECISION
    (row,) = report.results
    assert (row["count"], row["p50_ms"]) == (1, 10.0)  # DAYS[0] read live, DAYS[1] from its (empty) rollup


def test_the_days_to_roll_are_closed_unrolled_days_latest_first():
    user = UserFactory()
    Order.objects.bulk_create([place(user, broker_ms=9, overhead_ms=1, at=at(day, 3)) for day in DAYS])
    now = at(DAYS[-1] + dt.timedelta(days=1), 0) + dt.timedelta(minutes=5)  # DAYS[-1] ended 5 minutes ago
    assert rollup.days_to_roll(now) == [DAYS[1], DAYS[0]]
    later = now + rollup.ROLL_DELAY
    assert rollup.days_to_roll(later) == [DAYS[2], DAYS[1], DAYS[0]]
    assert rollup.days_to_roll(later, limit=1) == [DAYS[2]]
    rollup.roll_day(DAYS[1])
    assert rollup.days_to_roll(later) == [DAYS[2], DAYS[0]]


def test_the_beat_task_rolls_closed_days_and_its_schedule_is_seeded():
    user = UserFactory()
    yesterday = (dt.datetime.now(IST) - rollup.ROLL_DELAY).date() - dt.timedelta(days=1)
    Order.objects.bulk_create([place(user, broker_ms=9, overhead_ms=1, at=at(yesterday - dt.timedelta(days=2), 3)),
                               place(user, broker_ms=9, overhead_ms=1, at=dt.datetime.now(dt.UTC))])
    assert roll_latency_days().startswith("rolled 3 day(s), 1 order(s)")
    assert set(LatencyRollupDay.objects.values_list("day", flat=True)) == {
        yesterday - dt.timedelta(days=n) for n in range(3)}
    assert roll_latency_days() == "rolled 0 day(s), 0 order(s)"
    task = PeriodicTask.objects.get(task="analytics.tasks.roll_latency_days")
    assert (task.enabled, task.interval.every) == (True, 3600)


# --- /api/analytics/latency/ from rollups -------------------------------------------------------

URL = "analytics/latency/"
API_RANGE = {"from": RANGE["since"].isoformat(), "to": RANGE["until"].isoformat()}


def test_the_apis_figures_are_unchanged_within_the_precision(spread, operator):  # noqa: F811
    a, _ = spread
    for params in ({}, {"group_by": "broker,user,day"}, {"user": a.pk, "metric": "broker"}):
        before = operator.get(URL, {**API_RANGE, **params}).json()
        assert before["percentile_precision"] == 0
        roll_all()
        after = operator.get(URL, {**API_RANGE, **params}).json()
        assert after["percentile_precision"] == rollup.PRECISION
        assert len(after["results"]) == len(before["results"]) > 0
        for rolled, exact in zip(after["results"], before["results"], strict=True):
            close(rolled, exact)
        LatencyRollupDay.objects.all().delete()


def test_a_trader_reads_only_their_own_rollups(owner):  # noqa: F811
    other = UserFactory()
    Order.objects.bulk_create([place(owner.user, broker_ms=19, overhead_ms=1, at=at(DAYS[0], 2)),
                               place(other, broker_ms=499, overhead_ms=1, at=at(DAYS[0], 2))])
    rollup.roll_day(DAYS[0])
    body = owner.get(URL, {**API_RANGE, "group_by": "user"}).json()
    assert body["percentile_precision"] == rollup.PRECISION
    assert [(r["user_id"], r["count"], r["max_ms"]) for r in body["results"]] == [(owner.user.pk, 1, 20.0)]


def test_the_api_reads_rollups_in_a_fixed_number_of_queries(spread, operator):  # noqa: F811
    roll_all()
    params = {**API_RANGE, "group_by": "broker,user,day"}
    assert operator.get(URL, params).status_code == 200
    with CaptureQueriesContext(connection) as few:
        operator.get(URL, params)
    Order.objects.bulk_create([place(UserFactory(), broker_ms=5, overhead_ms=Decimal(1), at=at(DAYS[1], h))
                               for h in range(20)])
    rollup.roll_day(DAYS[1])
    with CaptureQueriesContext(connection) as many:
        operator.get(URL, params)
    assert len(many) == len(few)


def test_an_operator_rolls_a_day_again_or_drops_its_rollup_in_the_admin(client):
    from django.urls import reverse

    from tests.accounts.conftest import enroll, sign_in
    from tests.factories import StaffFactory

    staff = StaffFactory(is_superuser=True)
    sign_in(client, staff, enroll(staff))
    user = UserFactory()
    Order.objects.bulk_create([place(user, broker_ms=9, overhead_ms=1, at=at(DAYS[0], 3))])
    rollup.roll_day(DAYS[0])
    Order.objects.bulk_create([place(user, broker_ms=19, overhead_ms=1, at=at(DAYS[0], 4))])  # imported late
    marker = LatencyRollupDay.objects.get(day=DAYS[0])
    url = reverse("admin:analytics_latencyrollupday_changelist")
    assert client.get(url).status_code == 200
    client.post(url, {"action": "roll_again", "_selected_action": [marker.pk]}, follow=True)
    assert LatencyRollup.objects.get(day=DAYS[0], user=None, metric="total").count == 2
    client.post(url, {"action": "delete_selected", "_selected_action": [marker.pk], "post": "yes"}, follow=True)
    assert not LatencyRollupDay.objects.exists()
    assert not LatencyRollup.objects.exists()
    assert client.get(reverse("admin:analytics_latencyrollup_changelist")).status_code == 200
