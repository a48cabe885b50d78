"""Connection health of trading accounts: ping, record the outcome, keep the streak counters.

A check is two steps, never one transaction: ping() does the network call (no database write, no
transaction open), record() then writes the outcome in one short transaction with the row locked.
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
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
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


def record(account_id: int, result: PingResult) -> TradingAccount | None:
    """Write one check's outcome under the row's lock; returns the account as written (None if gone).

    Success: connected, its success streak grows, its failure streak ends. Failure: degraded if it was
    connected, else failed; the failure streak grows. Written with update(), so a stale in-memory copy
    of the account never overwrites its credentials.
    """
    now = timezone.now()
    with transaction.atomic():
        account = (TradingAccount.objects.select_for_update().filter(pk=account_id)
                   .only("pk", "user_id", "name", "connection_status", "consecutive_failures",
                         "consecutive_successes").first())
        if account is None:
            return None
        previous = account.connection_status
        fields: dict[str, Any]
        if result.ok:
            fields = {"connection_status": ConnectionStatus.CONNECTED, "last_connected_at": now, "last_error": "",
                      "consecutive_successes": account.consecutive_successes + 1, "consecutive_failures": 0}
        elif result.needs_login:
            fields = {"connection_status": ConnectionStatus.NEEDS_LOGIN, "last_error": result.message[:2000],
                      "consecutive_successes": 0, "consecutive_failures": 0}
        else:
            status = ConnectionStatus.DEGRADED if previous == ConnectionStatus.CONNECTED else ConnectionStatus.FAILED
            fields = {"connection_status": status, "last_error": (result.message or "unknown error")[:2000],
                      "consecutive_failures": account.consecutive_failures + 1, "consecutive_successes": 0}
        TradingAccount.objects.filter(pk=account_id).update(updated_at=now, **fields)
        for name, value in fields.items():
            setattr(account, name, value)
        if result.needs_login and previous != ConnectionStatus.NEEDS_LOGIN:
            # Once per expiry, not once per check: the user and the operators are told to log in again.
            log_activity(Activity.BROKER_NEEDS_LOGIN, user=account.user, account=account.name,
                         summary=f"{account.name} needs a new login: {result.message}"[:300])
            log.warning("trading account %s (user %s) needs a new login: %s", account.pk, account.user_id,
                        result.message)
    return account


def note_session_expired(account_id: int, message: str) -> None:
    """An order or a read met an expired session: mark the account at once, as the next check would."""
    record(account_id, PingResult(False, message, needs_login=True))


def check_connection(account: TradingAccount) -> tuple[bool, str]:
    """Ping one account now (the admin's "test connection"), record it as a scheduled check would
    (it counts toward failover) and let the failover service act on it. Returns (ok, message)."""
    result = ping(account)
    record(account.pk, result)
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
        for account in accounts:
            result = results[account.pk]
            record(account.pk, result)
            summary.checked += 1
            if result.ok:
                summary.healthy += 1
            elif result.needs_login:
                summary.needs_login += 1
            else:
                summary.failed += 1
        for user_id in sorted({a.user_id for a in accounts}):
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
