"""Retention of the logs: archive then delete in batches, crash-safe, disabled and dry runs do nothing."""
from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import connections

from analytics import buffer
from analytics.models import SystemLog, SystemLogArchive, TrafficLog, TrafficLogArchive
from analytics.routers import logs_db
from maintenance import targets
from maintenance.admin import RetentionPolicyForm
from maintenance.models import RetentionPolicy
from maintenance.services.runs import PolicyBusy, run_policy
from tests.maintenance.conftest import ALL, days_ago, policy, traffic

pytestmark = pytest.mark.django_db(databases=ALL)


def _rows(model) -> dict[int, dict]:
    return {row["id"]: row for row in model.objects.using(logs_db()).values()}


def test_it_archives_old_rows_batch_by_batch_and_keeps_new_ones(traffic_policy):
    old = traffic(250, age_days=91)
    traffic(30, age_days=89, path="/new")
    before = _rows(TrafficLog)

    outcome = run_policy(traffic_policy)

    assert (outcome.rows, outcome.batches) == (250, 3)
    archived = _rows(TrafficLogArchive)
    assert archived == {row.pk: before[row.pk] for row in old}  # the same rows, column for column
    assert set(_rows(TrafficLog)) == set(before) - set(archived)
    assert all(r["path"].startswith("/new") for r in _rows(TrafficLog).values())


def test_an_exception_between_batches_loses_nothing_and_a_rerun_completes(traffic_policy):
    traffic(350, age_days=120)
    before = _rows(TrafficLog)

    def crash_after_two(outcome, taken):
        if outcome.batches == 2:
            raise RuntimeError("worker killed")

    with pytest.raises(RuntimeError):
        run_policy(traffic_policy, on_batch=crash_after_two)

    assert len(_rows(TrafficLogArchive)) == 200  # two committed batches
    assert {**_rows(TrafficLog), **_rows(TrafficLogArchive)} == before  # every row in exactly one table
    assert not set(_rows(TrafficLog)) & set(_rows(TrafficLogArchive))
    traffic_policy.refresh_from_db()
    assert traffic_policy.running_until is None
    assert "failed" in traffic_policy.last_result

    outcome = run_policy(traffic_policy)
    assert outcome.rows == 150
    assert _rows(TrafficLogArchive) == before
    assert _rows(TrafficLog) == {}


def test_an_exception_inside_a_batch_rolls_the_whole_batch_back(traffic_policy, monkeypatch):
    traffic(150, age_days=120)
    before = _rows(TrafficLog)
    from maintenance.services import retention

    real = retention._archive_and_delete
    calls = []

    def write_then_fail(*args):
        real(*args)
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("connection lost after the batch's writes, before its commit")

    monkeypatch.setattr(retention, "_archive_and_delete", write_then_fail)
    with pytest.raises(RuntimeError):
        run_policy(traffic_policy)
    assert len(_rows(TrafficLogArchive)) == 100  # the first batch only: the second's writes were rolled back
    assert {**_rows(TrafficLog), **_rows(TrafficLogArchive)} == before


def test_the_delete_action_deletes_without_archiving(db):
    traffic(120, age_days=100)
    traffic(5, age_days=1)
    found = policy("analytics.traffic", action="delete", batch_size=100)
    assert run_policy(found).rows == 120
    assert TrafficLog.objects.using(logs_db()).count() == 5
    assert TrafficLogArchive.objects.using(logs_db()).count() == 0


def test_a_disabled_policy_does_nothing(db):
    traffic(10, age_days=200)
    found = policy("analytics.traffic", enabled=False, action="archive")
    assert run_policy(found) is None
    assert TrafficLog.objects.using(logs_db()).count() == 10
    found.refresh_from_db()
    assert found.last_run_at is None
    found.schedule.refresh_from_db()
    assert found.schedule.enabled is False  # its nightly task follows it


def test_a_dry_run_changes_nothing(traffic_policy):
    traffic(230, age_days=95)
    traffic(3, age_days=2)
    before = _rows(TrafficLog)

    outcome = run_policy(traffic_policy, dry_run=True)

    assert (outcome.rows, outcome.batches, outcome.dry_run) == (230, 3, True)
    assert "would have archived 230 rows" in outcome.summary()
    assert _rows(TrafficLog) == before
    assert _rows(TrafficLogArchive) == {}
    traffic_policy.refresh_from_db()
    assert traffic_policy.last_run_at is None
    assert traffic_policy.running_until is None
    assert buffer.flush() == 0  # not even a log line


def test_each_run_leaves_a_one_line_summary_in_the_system_log(traffic_policy):
    traffic(101, age_days=91)
    run_policy(traffic_policy)
    buffer.flush()
    row = SystemLog.objects.using(logs_db()).get(component="maintenance.retention")
    assert row.level == "INFO"
    assert row.message.startswith("retention analytics.traffic: archived 101 rows in 2 batches, ")
    traffic_policy.refresh_from_db()
    assert traffic_policy.last_result == row.message


def test_the_system_log_policy_archives_its_own_table(db):
    SystemLog.objects.using(logs_db()).create(timestamp=days_ago(100), level="WARNING", component="x", message="m")
    run_policy(policy("analytics.system", action="archive"))
    assert SystemLogArchive.objects.using(logs_db()).get().message == "m"


def test_a_policy_another_run_holds_is_refused(traffic_policy):
    RetentionPolicy.objects.filter(pk=traffic_policy.pk).update(running_until=days_ago(-1))  # held a day more
    with pytest.raises(PolicyBusy):
        run_policy(traffic_policy)


def _columns(model, connection) -> list[tuple]:
    # An auto-numbered key compares as the plain integer it stores (the archive's key is not auto-numbered).
    return [(f.column, f.rel_db_type(connection) if f.primary_key else f.db_type(connection), f.null)
            for f in model._meta.local_concrete_fields]


def test_archive_tables_have_the_same_columns_as_their_tables():
    for target in targets.TARGETS.values():
        pairs = [(target.model, target.archive)] if target.archive else []
        pairs += [(d.model, d.archive) for d in target.dependents]
        for source, archive in pairs:
            connection = connections[target.db]
            assert _columns(targets.apps.get_model(archive), connection) == _columns(
                targets.apps.get_model(source), connection), archive


# --- the command --------------------------------------------------------------------------------------------
def test_the_command_runs_a_named_policy_and_prints_its_summary(traffic_policy, capsys):
    traffic(120, age_days=91)
    call_command("retention", "run", "--policy", "analytics.traffic")
    assert "retention analytics.traffic: archived 120 rows in 2 batches" in capsys.readouterr().out
    assert TrafficLog.objects.using(logs_db()).count() == 0


def test_the_command_dry_run_changes_nothing(traffic_policy, capsys):
    traffic(7, age_days=91)
    call_command("retention", "run", "--policy", "analytics.traffic", "--dry-run")
    assert "would have archived 7 rows" in capsys.readouterr().out
    assert TrafficLog.objects.using(logs_db()).count() == 7


def test_the_command_refuses_an_unknown_policy_naming_the_option(db):
    with pytest.raises(CommandError, match=r"--policy: no retention policy 'nope'; known: .*analytics.traffic"):
        call_command("retention", "run", "--policy", "nope")


def test_the_command_exits_non_zero_on_an_unknown_policy(db):
    import subprocess
    import sys

    # A fresh process on its own scratch SQLite database: the exit status and message as a shell sees them.
    done = subprocess.run([sys.executable, "manage.py", "retention", "run", "--policy", "nope"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode != 0
    assert "--policy: no retention policy 'nope'" in done.stderr


def test_the_command_skips_a_disabled_policy_it_names(db, capsys):
    traffic(4, age_days=91)
    policy("analytics.traffic", enabled=False)
    call_command("retention", "run", "--policy", "analytics.traffic")
    assert "disabled, nothing done" in capsys.readouterr().out
    assert TrafficLog.objects.using(logs_db()).count() == 4


# --- the admin form -------------------------------------------------------------------------------------------
def test_the_admin_refuses_archive_for_a_table_without_an_archive(db):
    found = RetentionPolicy.objects.get(target="trading.order_events")
    form = RetentionPolicyForm(instance=found, data={"target": found.target, "keep_days": 365, "action": "archive",
                                                     "batch_size": 5000, "enabled": True})
    assert not form.is_valid()
    assert "has no archive table" in form.errors["action"][0]


def test_the_admin_refuses_a_tiny_batch_or_a_zero_window(db):
    found = RetentionPolicy.objects.get(target="analytics.api")
    form = RetentionPolicyForm(instance=found, data={"target": found.target, "keep_days": 0, "action": "delete",
                                                     "batch_size": 5, "enabled": True})
    assert not form.is_valid()
    assert set(form.errors) == {"keep_days", "batch_size"}


def test_every_registered_target_has_a_policy_and_a_nightly_task(db):
    policies = {p.target: p for p in RetentionPolicy.objects.select_related("schedule__crontab")}
    assert set(policies) == set(targets.TARGETS)
    assert {p.target: (p.keep_days, p.action) for p in policies.values()} == {
        "analytics.traffic": (90, "delete"), "analytics.api": (90, "delete"), "analytics.system": (90, "delete"),
        "trading.order_events": (365, "delete"), "trading.orders": (365, "archive"),
        "marketdata.intraday_bars": (30, "delete"), **({"strategies.logs": (365, "delete")}
                                                       if "strategies.logs" in targets.TARGETS else {})}
    for found in policies.values():
        assert found.schedule.task == "maintenance.tasks.run_retention_policy"
        assert found.schedule.args == f"[{found.pk}]"
        assert found.schedule.crontab.timezone.key == "Asia/Kolkata"


def test_a_delete_receiver_is_honoured_when_one_listens(traffic_policy):
    from django.db.models.signals import post_delete

    from maintenance.services.retention import _plain
    from trading.models import Order

    assert _plain(TrafficLog)  # nothing listens, nothing points at it: one DELETE by ids
    assert not _plain(Order)  # trades, events, legs point at orders: the ORM's delete
    traffic(120, age_days=91)
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance.pk)

    post_delete.connect(receiver, sender=TrafficLog)
    try:
        assert not _plain(TrafficLog)
        run_policy(traffic_policy)
    finally:
        post_delete.disconnect(receiver, sender=TrafficLog)
    assert len(seen) == 120


def test_a_policy_whose_table_is_no_longer_registered_is_refused_not_crashed(db):
    found = RetentionPolicy.objects.get(target="analytics.api")
    RetentionPolicy.objects.filter(pk=found.pk).update(target="gone.table")
    found.refresh_from_db()
    form = RetentionPolicyForm(instance=found, data={"keep_days": 30, "action": "delete", "batch_size": 2000,
                                                     "enabled": True})
    assert not form.is_valid()
    assert "target: unknown retention target 'gone.table'" in form.non_field_errors()[0]
