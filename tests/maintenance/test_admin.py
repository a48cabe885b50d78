"""The retention policies and the archives in the admin: pages render, bad edits are refused naming the field,
an edit reaches the policy's periodic task, and a run can be queued by hand."""
from __future__ import annotations

import pytest
from django.urls import reverse

from analytics.models import ApiLogArchive, SystemLogArchive, TrafficLogArchive
from maintenance.models import RetentionPolicy
from tests.accounts.conftest import enroll, sign_in
from tests.browser import open_browser, screenshot
from tests.factories import StaffFactory
from tests.maintenance.conftest import ALL, traffic
from trading.models import OrderArchive, TradeArchive

pytestmark = pytest.mark.django_db(databases=ALL)


@pytest.fixture
def staff(client):
    operator = StaffFactory()
    return sign_in(client, operator, enroll(operator))


def _change(policy: RetentionPolicy) -> str:
    return reverse("admin:maintenance_retentionpolicy_change", args=[policy.pk])


def _form(policy: RetentionPolicy, **fields) -> dict:
    return {"keep_days": policy.keep_days, "action": policy.action, "batch_size": policy.batch_size,
            "enabled": "on" if policy.enabled else "", **fields}


def test_the_policies_and_the_archives_render(staff):
    page = staff.get(reverse("admin:maintenance_retentionpolicy_changelist"))
    assert page.status_code == 200
    for target in ("analytics.traffic", "trading.orders", "marketdata.intraday_bars"):
        assert target in page.content.decode()
    assert staff.get(_change(RetentionPolicy.objects.get(target="trading.orders"))).status_code == 200
    for model in (OrderArchive, TradeArchive, TrafficLogArchive, ApiLogArchive, SystemLogArchive):
        meta = model._meta
        assert staff.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")).status_code == 200, model


def test_an_edit_reaches_the_policys_nightly_task(staff):
    policy = RetentionPolicy.objects.get(target="analytics.api")
    answer = staff.post(_change(policy), _form(policy, keep_days=30, enabled=""))
    assert answer.status_code == 302
    policy.refresh_from_db()
    assert (policy.keep_days, policy.enabled) == (30, False)
    policy.schedule.refresh_from_db()
    assert policy.schedule.enabled is False


def test_archive_on_a_table_without_an_archive_is_refused_naming_the_field(staff):
    policy = RetentionPolicy.objects.get(target="marketdata.intraday_bars")
    answer = staff.post(_change(policy), _form(policy, action="archive"))
    assert answer.status_code == 200
    assert answer.context["adminform"].form.errors["action"] == [
        "marketdata.intraday_bars has no archive table: choose Delete."]
    policy.refresh_from_db()
    assert policy.action == "delete"


def test_policies_are_neither_added_nor_deleted_by_hand_only_disabled(staff):
    assert staff.get(reverse("admin:maintenance_retentionpolicy_add")).status_code == 403
    policy = RetentionPolicy.objects.get(target="analytics.traffic")
    assert staff.post(reverse("admin:maintenance_retentionpolicy_delete", args=[policy.pk]),
                      {"post": "yes"}).status_code == 403
    assert RetentionPolicy.objects.filter(pk=policy.pk).exists()


@pytest.fixture
def eager():
    from config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True  # a queued task runs here, at once
    yield
    app.conf.task_always_eager = before


def test_an_operator_can_queue_a_run_now(staff, eager):
    traffic(3, age_days=100)
    policy = RetentionPolicy.objects.get(target="analytics.traffic")
    answer = staff.post(reverse("admin:maintenance_retentionpolicy_changelist"),
                        {"action": "run_now", "_selected_action": [policy.pk]}, follow=True)
    assert "Queued: analytics.traffic." in answer.content.decode()
    policy.refresh_from_db()
    assert policy.last_result.startswith("retention analytics.traffic: deleted 3 rows in 1 batches")


@pytest.mark.live
@pytest.mark.browser
@pytest.mark.django_db(transaction=True, databases=ALL)
def test_the_policies_page_in_a_browser(live_server, client):
    operator = StaffFactory()
    sign_in(client, operator, enroll(operator))
    with open_browser(live_server, client) as page:
        page.goto(live_server.url + reverse("admin:maintenance_retentionpolicy_changelist"))
        assert "trading.orders" in page.inner_text("#result_list")
        screenshot(page, "admin-retention-policies")
        page.click("text=trading.orders")
        screenshot(page, "admin-retention-policy")
        assert page.console_errors == []
