"""Health checks, failover and fail-back against real HTTP upstreams on loopback that the tests stop and
start again (tests/brokers/loopback_upstream.py): no mocks between the check and the socket."""
from __future__ import annotations

import pytest
from django_celery_beat.models import PeriodicTask

from accounts.models import Activity, ActivityLog
from brokers.models import ConnectionStatus, FailoverEvent, FailoverKind, TradingAccount
from brokers.services import accounts as services
from brokers.services import failover, health
from brokers.tasks import health_check
from tests.brokers.factories import TradingAccountFactory
from tests.brokers.loopback_upstream import API_KEY, LoopbackUpstream, accounts_on

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _short_checks(settings):
    settings.BROKER_HEALTH_CHECK_TIMEOUT = 1.0
    settings.BROKER_FAILOVER_AFTER_FAILURES = 3
    settings.BROKER_FAILBACK_AFTER_SUCCESSES = 5


@pytest.fixture
def upstreams():
    started: list[LoopbackUpstream] = []

    def make(name: str, **kwargs) -> LoopbackUpstream:
        started.append(LoopbackUpstream(name, **kwargs))
        return started[-1]

    yield make
    for server in started:
        server.stop()


def account_on(user, upstream: LoopbackUpstream, name: str, priority: int, *, primary: bool = False,
               **fields) -> TradingAccount:
    account = TradingAccountFactory(user=user, name=name, priority=priority,
                                    credentials={"host_url": upstream.url, "api_key": API_KEY}, **fields)
    if primary:
        services.make_primary(account)
    return account


@pytest.fixture
def trio(trader, upstreams):
    """The trader's primary `main` and two stand-ins by priority, each on its own upstream."""
    servers = {name: upstreams(name) for name in ("main", "backup", "spare")}
    return servers, accounts_on(trader, servers, primary="main")


def primary_name(user) -> str | None:
    account = services.primary_account(user)
    return account.name if account else None


def run(times: int = 1) -> health.RunSummary:
    summary = health.RunSummary()
    for _ in range(times):
        summary = health.run_checks()
    return summary


def test_a_health_check_records_every_active_account_and_skips_inactive_ones(trader, trio, upstreams):
    servers, accounts = trio
    idle = account_on(trader, upstreams("idle"), "idle", 9, is_active=False)
    summary = run()
    assert (summary.checked, summary.healthy, summary.failed) == (3, 3, 0)
    for account in accounts.values():
        account.refresh_from_db()
        assert account.connection_status == ConnectionStatus.CONNECTED
        assert account.consecutive_successes == 1
        assert account.last_connected_at is not None
    assert all(server.count("ping") == 1 for server in servers.values())
    idle.refresh_from_db()
    assert idle.connection_status == ConnectionStatus.DISCONNECTED


def test_it_fails_over_after_n_failures_to_the_next_healthy_account_by_priority(trader, trio):
    servers, accounts = trio
    run()  # everyone healthy
    servers["main"].stop()
    run(2)
    assert primary_name(trader) == "main"  # two failures: not yet
    assert not FailoverEvent.objects.exists()
    summary = run()
    assert summary.failovers == 1
    assert primary_name(trader) == "backup"
    event = FailoverEvent.objects.get()
    assert (event.kind, event.success, event.from_account, event.to_account) == (
        FailoverKind.FAILOVER, True, accounts["main"], accounts["backup"])
    assert "failed 3 health checks in a row" in event.reason
    assert "unreachable" in event.reason
    backup = TradingAccount.objects.get(pk=accounts["backup"].pk)
    assert backup.standing_in_for_id == accounts["main"].pk
    main = TradingAccount.objects.get(pk=accounts["main"].pk)
    assert (main.connection_status, main.consecutive_failures) == (ConnectionStatus.FAILED, 3)
    # The user's activity log (their dashboard) says so.
    entry = ActivityLog.objects.get(user=trader, action=Activity.BROKER_FAILOVER)
    assert (entry.details["from_account"], entry.details["to_account"]) == ("main", "backup")
    assert "failed over to backup" in entry.details["summary"]
    run(3)  # the outage goes on: one failover, not one per check
    assert FailoverEvent.objects.count() == 1


def test_it_fails_back_after_m_healthy_checks_of_the_original(trader, trio):
    servers, accounts = trio
    run()
    servers["main"].stop()
    run(3)
    assert primary_name(trader) == "backup"
    servers["main"].start()  # the same address and port again
    run(4)
    assert primary_name(trader) == "backup"  # four healthy checks: not yet
    summary = run()
    assert summary.failbacks == 1
    assert primary_name(trader) == "main"
    back = FailoverEvent.objects.get(kind=FailoverKind.FAILBACK)
    assert (back.from_account, back.to_account, back.success) == (accounts["backup"], accounts["main"], True)
    assert "5 health checks in a row" in back.reason
    assert TradingAccount.objects.filter(user=trader, standing_in_for__isnull=False).count() == 0
    assert ActivityLog.objects.filter(user=trader, action=Activity.BROKER_FAILBACK).count() == 1
    run(5)
    assert FailoverEvent.objects.count() == 2  # nothing more happens while all is well


def test_a_flapping_primary_never_fails_over_and_a_flapping_original_never_fails_back(trader, trio):
    servers, _ = trio
    run()
    for _ in range(4):  # down twice, up once: never three failures in a row
        servers["main"].stop()
        run(2)
        servers["main"].start()
        run()
    assert primary_name(trader) == "main"
    assert not FailoverEvent.objects.exists()
    servers["main"].stop()
    run(3)
    assert primary_name(trader) == "backup"
    for _ in range(3):  # up four times, down once: never five successes in a row
        servers["main"].start()
        run(4)
        servers["main"].stop()
        run()
    assert primary_name(trader) == "backup"
    assert FailoverEvent.objects.count() == 1


def test_the_stand_in_skips_pinned_accounts(trader, trio):
    servers, accounts = trio
    run()
    services.set_pinned(accounts["backup"], True)
    servers["main"].stop()
    run(3)
    assert primary_name(trader) == "spare"  # backup is pinned: never chosen
    assert ActivityLog.objects.filter(user=trader, action=Activity.BROKER_PINNED).count() == 1


def test_a_pinned_primary_never_fails_over(trader, trio):
    servers, accounts = trio
    services.set_pinned(accounts["main"], True)
    servers["main"].stop()
    run(5)
    assert primary_name(trader) == "main"
    assert not FailoverEvent.objects.exists()
    assert TradingAccount.objects.get(pk=accounts["main"].pk).consecutive_failures == 5


def test_with_no_healthy_account_one_failed_event_is_recorded_then_failover_when_one_recovers(trader, trio):
    servers, accounts = trio
    for server in servers.values():
        server.stop()
    run(5)
    event = FailoverEvent.objects.get()
    assert (event.success, event.to_account, event.error) == (False, None, failover.NO_STAND_IN)
    assert primary_name(trader) == "main"
    servers["spare"].start()
    run()
    assert primary_name(trader) == "spare"
    assert FailoverEvent.objects.filter(success=True, to_account=accounts["spare"]).count() == 1


def test_a_chain_of_failovers_fails_back_to_the_original(trader, trio):
    servers, accounts = trio
    run()
    servers["main"].stop()
    run(3)
    servers["backup"].stop()
    run(3)
    assert primary_name(trader) == "spare"
    assert TradingAccount.objects.get(pk=accounts["spare"].pk).standing_in_for_id == accounts["main"].pk
    servers["main"].start()
    run(5)
    assert primary_name(trader) == "main"


def test_a_manual_switch_ends_the_failover(trader, trio):
    servers, accounts = trio
    run()
    servers["main"].stop()
    run(3)
    services.make_primary(accounts["spare"])  # the user chose: no fail-back undoes it
    servers["main"].start()
    run(6)
    assert primary_name(trader) == "spare"


def test_failover_can_be_turned_off(trader, trio, settings):
    settings.BROKER_FAILOVER_ENABLED = False
    servers, _ = trio
    servers["main"].stop()
    run(4)
    assert primary_name(trader) == "main"


def test_each_users_failover_is_their_own(trader, other_trader, trio, upstreams):
    servers, _ = trio
    other_main = account_on(other_trader, upstreams("other-main"), "main", 1, primary=True)
    account_on(other_trader, upstreams("other-backup"), "backup", 2)
    run()
    servers["main"].stop()
    run(3)
    assert primary_name(trader) == "backup"
    assert primary_name(other_trader) == "main"
    assert not FailoverEvent.objects.filter(user=other_trader).exists()
    assert TradingAccount.objects.get(pk=other_main.pk).consecutive_failures == 0


# --- Session expiry ---------------------------------------------------------------------------------
def test_an_expired_session_needs_a_new_login_and_is_not_a_failover_flap(trader, trio):
    servers, accounts = trio
    run()
    servers["main"].session_expired = True
    run(4)
    main = TradingAccount.objects.get(pk=accounts["main"].pk)
    assert main.connection_status == ConnectionStatus.NEEDS_LOGIN
    assert main.get_connection_status_display() == "Needs a new login"
    assert "Invalid openalgo apikey" in main.last_error
    assert main.consecutive_failures == 0
    assert primary_name(trader) == "main"  # not a connection fault: no failover
    assert not FailoverEvent.objects.exists()
    # The user is told once, not once per check.
    entries = ActivityLog.objects.filter(user=trader, action=Activity.BROKER_NEEDS_LOGIN)
    assert entries.count() == 1
    assert "main needs a new login" in entries.get().details["summary"]
    servers["main"].session_expired = False  # the user logged in again upstream
    run()
    main.refresh_from_db()
    assert main.connection_status == ConnectionStatus.CONNECTED


def test_an_account_that_needs_a_login_is_never_a_stand_in(trader, trio):
    servers, _ = trio
    run()
    servers["backup"].session_expired = True
    servers["main"].stop()
    run(3)
    assert primary_name(trader) == "spare"


# --- Scheduling -------------------------------------------------------------------------------------
def test_the_health_check_is_scheduled_in_the_database_every_30_seconds():
    task = PeriodicTask.objects.get(task="brokers.tasks.health_check")
    assert task.enabled
    assert (task.interval.every, task.interval.period) == (30, "seconds")


def test_the_task_runs_the_checks_and_returns_a_summary(trader, trio):
    servers, _ = trio
    servers["spare"].stop()
    assert health_check() == ("health check: 3 account(s), 2 healthy, 1 failing, 0 need a login; "
                              "0 failover(s), 0 fail-back(s)")


def test_a_second_run_while_one_is_in_progress_is_skipped(trader, trio):
    from django.core.cache import cache

    cache.add(health.RUN_LOCK_KEY, "another-run", 60)
    assert run().skipped
    assert all(server.count("ping") == 0 for server in trio[0].values())


def test_a_health_check_costs_one_update_per_account_and_reads_users_only_near_a_move(trader, other_trader, upstreams):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    server = upstreams("shared")
    for user in (trader, other_trader):
        for i in range(3):
            account_on(user, server, f"acct-{i}", i + 1, primary=i == 0)
    run()  # warm
    with CaptureQueriesContext(connection) as queries:
        run()
    # One read of the accounts and one UPDATE per account; no user's primary is near a move, so the
    # failover service reads nothing.
    statements = [q["sql"] for q in queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 1 + 6, statements
    server.stop()
    with CaptureQueriesContext(connection) as queries:
        run(3)
    statements = [q["sql"] for q in queries if "SAVEPOINT" not in q["sql"]]
    # Three runs of 1 + 6; the third looks at both users under their locks (a read each) and finds no
    # stand-in (all on the same upstream): one failed event and one activity entry each.
    assert len(statements) <= 3 * (1 + 6) + 2 * (1 + 2 + 2), statements


def test_the_command_runs_the_check_and_refuses_an_unknown_user(trader, trio):
    from io import StringIO

    from django.core.management import CommandError, call_command

    trio[0]["spare"].stop()
    out = StringIO()
    call_command("check_brokers", stdout=out)
    assert "3 account(s), 2 healthy, 1 failing" in out.getvalue()
    assert "spare: failed OpenAlgo server unreachable" in out.getvalue()
    out = StringIO()
    call_command("check_brokers", "--user", trader.username, stdout=out)
    assert "main: ok openalgo:main answered (Connected)" in out.getvalue()
    with pytest.raises(CommandError, match="--user: no active trading account"):
        call_command("check_brokers", "--user", "nobody")
