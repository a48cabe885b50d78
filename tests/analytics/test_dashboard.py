"""The operators' dashboard (analytics.services.dashboard and the admin index): checked figures, plumbing
out of the way, a fixed number of queries whatever the data."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from analytics.models import Heartbeat
from analytics.services import dashboard, health
from analytics.tasks import WORKER, heartbeat
from tests.accounts.conftest import enroll, sign_in
from tests.analytics import desk
from tests.analytics.conftest import ALL

pytestmark = pytest.mark.django_db(databases=ALL)


@pytest.fixture
def seeded():
    return desk.seed()


def test_it_counts_todays_orders_and_the_top_rejection_reasons(seeded):
    figures = dashboard.orders_today(seeded.now)
    assert (figures["orders"], figures["filled"], figures["rejected"], figures["open"]) == (8, 4, 3, 1)
    assert figures["reasons"][0] == {"rejection_reason": "Market is closed", "count": 2}
    assert figures["reasons"][1] == {"rejection_reason": "Daily loss limit reached", "count": 1}


def test_it_charts_realized_pnl_per_user_and_per_strategy_by_day(seeded):
    chart = dashboard.pnl_chart(seeded.now)
    assert len(chart["days"]) == dashboard.CHART_DAYS
    assert chart["days"][-1] == dashboard.today(seeded.now).isoformat()
    by_user = {s["label"]: s["values"] for s in chart["by_user"]}
    assert by_user["alice"][-2:] == [-250.5, 1500.0]
    assert by_user["bob"][-3:] == [100.0, 0.0, 320.25]
    by_strategy = {s["label"]: s["values"] for s in chart["by_strategy"]}
    assert by_strategy["momentum"][-1] == 1500.0
    assert by_strategy["meanrev"][-2] == -250.5
    assert by_strategy["(no strategy)"][-1] == 320.25
    assert chart["total"] == Decimal("1820.25")


def test_it_charts_latency_percentiles_per_day(seeded):
    chart = dashboard.latency_chart(seeded.now)
    # Today's totals (broker + 2 ms overhead) of the orders that reached a broker: 42, 62, 82, 102, 122.
    assert chart["count"][-1] == 5
    assert chart["p50"][-1] == 82.0
    assert chart["p90"][-1] == pytest.approx(114.0)
    assert chart["p50"][0] is None  # no orders that day: a gap, not a zero


def test_closed_days_come_from_their_latency_rollups(seeded):
    from analytics.models import LatencyRollupDay
    from analytics.services import rollup

    yesterday = dashboard.today(seeded.now) - dt.timedelta(days=1)
    rollup.roll_day(yesterday)
    assert LatencyRollupDay.objects.filter(day=yesterday).exists()
    chart = dashboard.latency_chart(seeded.now)
    assert chart["count"][-2] == 1
    assert chart["p50"][-2] == pytest.approx(42.0, rel=0.005)
    assert chart["p50"][-1] == 82.0  # today stays exact


def test_it_reports_traffic_and_error_rates(seeded):
    chart = dashboard.traffic(seeded.now)
    assert chart["total"] == 10
    assert sum(chart["server_errors"]) == 1
    assert sum(chart["client_errors"]) == 1
    assert chart["error_rate"] == pytest.approx(10.0)
    assert len(chart["hours"]) == dashboard.TRAFFIC_HOURS


def test_it_lists_active_bans_and_failovers(seeded):
    bans = dashboard.active_bans(seeded.now)
    assert bans["count"] == 1
    assert [b.ip for b in bans["latest"]] == ["203.0.113.7"]
    assert [e.reason for e in dashboard.failovers()] == ["3 failed health checks"]


def test_a_recent_heartbeat_is_healthy_and_a_stale_one_is_not(seeded):
    worker, beat = health.worker_and_beat(seeded.now)
    assert worker.healthy
    assert worker.note == "celery@desk"
    assert not beat.healthy  # last sent 20 minutes ago
    later = seeded.now + dt.timedelta(minutes=10)
    assert not health.worker_and_beat(later)[0].healthy


def test_the_heartbeat_task_records_the_worker(db):
    Heartbeat.objects.all().delete()
    heartbeat.apply()
    row = Heartbeat.objects.get(name=WORKER)
    assert timezone.now() - row.seen_at < dt.timedelta(seconds=5)
    assert health.worker_and_beat()[0].healthy


def test_beat_is_unhealthy_when_its_schedule_is_missing_or_disabled(db):
    from django_celery_beat.models import PeriodicTask

    from analytics.tasks import HEARTBEAT_TASK
    PeriodicTask.objects.filter(name=HEARTBEAT_TASK).update(enabled=False, last_run_at=timezone.now())
    beat = health.worker_and_beat()[1]
    assert not beat.healthy
    assert "disabled" in beat.note
    PeriodicTask.objects.filter(name=HEARTBEAT_TASK).delete()
    assert "missing" in health.worker_and_beat()[1].note


@pytest.fixture
def operator_client(client, seeded):
    return sign_in(client, seeded.operator, enroll(seeded.operator))


def test_the_admin_index_shows_the_seeded_figures(operator_client):
    page = operator_client.get(reverse("admin:index"))
    html = page.content.decode()
    assert page.status_code == 200
    for fragment in ('id="tile-orders"><span class="figure">8<', 'id="tile-rejected"><span class="figure">3<',
                     "₹1,820.25", "Market is closed", "203.0.113.7", "3 failed health checks",
                     "Celery beat", 'data-chart="chart-latency"', "vendor/chartjs/chart.umd.min.js"):
        assert fragment in html, fragment
    # Plumbing is collapsed below the operators' apps, still linked.
    main, plumbing = html.split('id="plumbing"')
    assert reverse("admin:axes_accessattempt_changelist") in plumbing
    assert reverse("admin:axes_accessattempt_changelist") not in main.split('class="home-apps"')[1]
    assert reverse("admin:trading_order_changelist") in main
    assert reverse("admin:analytics_pnlrollup_changelist") in plumbing
    assert reverse("admin:trading_orderarchive_changelist") in plumbing


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connections["default"]) as default, \
            CaptureQueriesContext(connections[_logs()]) as logs:
        assert client.get(url).status_code == 200
    if _logs() == "default":
        return len(default)
    return len(default) + len(logs)


def _logs() -> str:
    from analytics.routers import logs_db
    return logs_db()


def test_the_admin_index_costs_a_fixed_number_of_queries(operator_client, seeded):
    url = reverse("admin:index")
    cold = _queries(operator_client, url)
    warm = _queries(operator_client, url)
    desk._order(seeded.bob, "REJECTED", reason="More data", analyze=False, at=seeded.now)
    dashboard_cache_cleared = _queries(operator_client, url)
    assert warm < cold
    assert warm == _queries(operator_client, url)
    # The ban list (2, cached after), session, user and device (3), the app list's add check of the sandbox
    # config, a singleton (1; retention policies are never added by hand: no check), then the panels: orders
    # (2), P&L (which days are rolled up 1, none here, so the 2 books), latency (today 1; past days: which are
    # rolled up 1, none here, so their orders 1), traffic (1), bans (2), failovers (1), health (2); the
    # sidebar's admin log (1).
    assert cold == 21, cold
    # Warm: the charts come from the cache; today's orders, bans, failovers and health are read every time.
    assert warm == 12, warm
    assert dashboard_cache_cleared == warm  # a new order shows in the counts at once, at no extra query
