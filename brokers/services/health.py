"""Connection health of trading accounts: ping, record the outcome, keep the streak counters.

A check is two steps, never one transaction: ping() does the network call (no database write, no
transaction open), record() then writes the outcome in one UPDATE computed by the database.
run_checks() pings every active account in parallel and hands each user to the failover service.

A broker that refuses the account's key or session (SessionExpired) is not a connection fault: the
account is marked as needing a new login, its streaks are reset, and it neither counts toward a
failover nor serves as a stand-in until it answers again.
"""
from __future__ import annotations

import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from accounts.models import Activity
from accounts.services.activity import log_activity
from brokers.adapters.base import BrokerError, SessionExpired
from brokers.adapters.registry import runs_in_database
from brokers.models import ConnectionStatus, FailoverKind, TradingAccount
from brokers.services import failover
from brokers.services.accounts import adapter_for

log = logging.getLogger(__name__)

RUN_LOCK_KEY = "brokers:health-check:running"
RECORD_BATCH = 100  # outcomes written per transaction


@dataclass(frozen=True)
class PingResult:
    ok: bool
    message: str
    needs_login: bool = False


def ping(account: TradingAccount) -> PingResult:
    """Ask the account's broker whether it answers, bounded by BROKER_HEALTH_CHECK_TIMEOUT. Network only."""
    try:
        answer = adapter_for(account, timeout=settings.BROKER_HEALTH_CHECK_TIMEOUT).ping()
    except SessionExpired as exc:
        return PingResult(False, exc.message, needs_login=True)
    except BrokerError as exc:
        return PingResult(False, exc.message)
    except Exception as exc:  # a misconfigured adapter is recorded as a failure, never crashes the run
        return PingResult(False, f"{type(exc).__name__}: {exc}")
    return PingResult(True, f"{answer} answered")


def record(account: TradingAccount, result: PingResult) -> None:
    """Write one check's outcome: one UPDATE whose new values are computed by the database from the row
    (F() and Case), so concurrent writers never lose a count and a stale in-memory copy of the account
    never overwrites its credentials.

    Success: connected, its success streak grows, its failure streak ends. Failure: degraded if it was
    connected, else failed; the failure streak grows. An expired session: needs a new login, both
    streaks end, and the first such outcome (only it matches the UPDATE) is told to the user.
    """
    now = timezone.now()
    rows = TradingAccount.objects.filter(pk=account.pk)
    if result.ok:
        rows.update(connection_status=ConnectionStatus.CONNECTED, last_connected_at=now, last_error="",
                    consecutive_successes=F("consecutive_successes") + 1, consecutive_failures=0, updated_at=now)
    elif result.needs_login:
        fields = {"last_error": result.message[:2000], "consecutive_successes": 0, "consecutive_failures": 0,
                  "updated_at": now}
        if rows.exclude(connection_status=ConnectionStatus.NEEDS_LOGIN).update(
                connection_status=ConnectionStatus.NEEDS_LOGIN, **fields):
            # Once per expiry, not once per check: the user and the operators are told to log in again.
            log_activity(Activity.BROKER_NEEDS_LOGIN, user=account.user, account=account.name,
                         summary=f"{account.name} needs a new login: {result.message}"[:300])
            log.warning("trading account %s (user %s) needs a new login: %s", account.pk, account.user_id,
                        result.message)
        else:
            rows.update(**fields)
    else:
        rows.update(connection_status=Case(When(connection_status=ConnectionStatus.CONNECTED,
                                                then=Value(ConnectionStatus.DEGRADED)),
                                           default=Value(ConnectionStatus.FAILED)),
                    last_error=(result.message or "unknown error")[:2000],
                    consecutive_failures=F("consecutive_failures") + 1, consecutive_successes=0, updated_at=now)


def note_session_expired(account: TradingAccount, message: str) -> None:
    """An order or a read met an expired session: mark the account at once, as the next check would."""
    record(account, PingResult(False, message, needs_login=True))


def check_connection(account: TradingAccount) -> tuple[bool, str]:
    """Ping one account now (the admin's "test connection"), record it as a scheduled check would
    (it counts toward failover) and let the failover service act on it. Returns (ok, message)."""
    result = ping(account)
    record(account, result)
    failover.evaluate(account.user_id)
    account.refresh_from_db()
    return result.ok, result.message


@dataclass
class RunSummary:
    checked: int = 0
    healthy: int = 0
    failed: int = 0
    needs_login: int = 0
    failovers: int = 0
    failbacks: int = 0
    skipped: bool = False

    def __str__(self) -> str:
        if self.skipped:
            return "health check: skipped, another run is in progress"
        return (f"health check: {self.checked} account(s), {self.healthy} healthy, {self.failed} failing, "
                f"{self.needs_login} need a login; {self.failovers} failover(s), {self.failbacks} fail-back(s)")


def _users_to_evaluate(accounts: list[TradingAccount], results: dict[int, PingResult]) -> list[int]:
    threshold = settings.BROKER_FAILOVER_AFTER_FAILURES
    users = set()
    for account in accounts:
        if not account.is_primary:
            continue
        result = results[account.pk]
        failing = not result.ok and not result.needs_login
        if account.standing_in_for_id or (failing and account.consecutive_failures + 1 >= threshold):
            users.add(account.user_id)
    return sorted(users)


def _count(summary: RunSummary, result: PingResult) -> None:
    summary.checked += 1
    if result.ok:
        summary.healthy += 1
    elif result.needs_login:
        summary.needs_login += 1
    else:
        summary.failed += 1


def run_checks() -> RunSummary:
    """Ping every active trading account (in parallel, outside any transaction), record each outcome,
    then let the failover service look at each user. One run at a time across processes: a run that
    outlasts the beat interval must not count one outage twice."""
    token = uuid.uuid4().hex
    lock_seconds = max(60, int(settings.BROKER_HEALTH_CHECK_TIMEOUT * 10 + settings.BROKER_HEALTH_CHECK_SECONDS))
    if not cache.add(RUN_LOCK_KEY, token, timeout=lock_seconds):
        return RunSummary(skipped=True)
    summary = RunSummary()
    try:
        accounts = list(TradingAccount.objects.active().order_by("user_id", "priority", "id"))
        remote = [a for a in accounts if not runs_in_database(a.broker)]
        local = [a for a in accounts if runs_in_database(a.broker)]
        results: dict[int, PingResult] = {a.pk: ping(a) for a in local}  # database work stays on this thread
        if remote:
            workers = min(settings.BROKER_HEALTH_CHECK_CONCURRENCY, len(remote))
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="health") as pool:
                results.update(zip((a.pk for a in remote), pool.map(ping, remote), strict=True))
        # Each outcome is one UPDATE, RECORD_BATCH of them per short transaction (a commit each would
        # cost more than the work). Then the failover service looks, under the user's row locks, only
        # at users whose primary may have to move: it reached the failure threshold, or it stands in for
        # an original that may be back (the counts read before the pings suffice to pick them: the
        # service reads them again under the locks).
        for start in range(0, len(accounts), RECORD_BATCH):
            with transaction.atomic():
                for account in accounts[start:start + RECORD_BATCH]:
                    _count(summary, results[account.pk])
                    record(account, results[account.pk])
        for user_id in _users_to_evaluate(accounts, results):
            event = failover.evaluate(user_id)
            if event is not None and event.success:
                if event.kind == FailoverKind.FAILBACK:
                    summary.failbacks += 1
                else:
                    summary.failovers += 1
    finally:
        if cache.get(RUN_LOCK_KEY) == token:
            cache.delete(RUN_LOCK_KEY)
    log.info("%s", summary)
    return summary
