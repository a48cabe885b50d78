"""Failover of a user's primary trading account, and fail-back to the original once it recovers.

evaluate(user) reads the streak counters the health check keeps (brokers.services.health) with all
of the user's accounts locked, so concurrent checks and manual switches serialise, and the primary
flag moves old-off-then-new-on inside one transaction (the one-primary constraint never sees two):

- failover: the primary failed BROKER_FAILOVER_AFTER_FAILURES checks in a row; the first active,
  connected, unpinned account by priority takes over and remembers whom it stands in for;
- fail-back: the account it stands in for answered BROKER_FAILBACK_AFTER_SUCCESSES checks in a row.

Hysteresis: both need an unbroken streak (one success ends a failure streak and the other way
round), so a connection that flaps never moves the primary. A pinned primary never moves; a pinned
account is never chosen as a stand-in; an account that needs a new login is neither. Only the
primary flag moves: orders already sent stay with the account they were sent to (their sync and
reconcile use the order's own account), so nothing is ever re-sent to the new primary.
"""
from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Activity
from accounts.services.activity import log_activity
from brokers.adapters.registry import runs_in_database
from brokers.models import ConnectionStatus, FailoverEvent, FailoverKind, TradingAccount

log = logging.getLogger(__name__)

#: What a decision reads (never the encrypted credentials: nothing to decrypt under the locks).
DECISION_FIELDS = ("pk", "user_id", "name", "broker", "priority", "is_active", "is_primary", "pinned",
                   "connection_status", "last_error", "consecutive_failures", "consecutive_successes",
                   "standing_in_for")
NO_STAND_IN = "No other active, connected and unpinned account to fail over to."


def evaluate(user_id: int) -> FailoverEvent | None:
    """Fail over or fail back the user's primary if its streaks say so. Returns the event recorded."""
    if not settings.BROKER_FAILOVER_ENABLED:
        return None
    with transaction.atomic():
        accounts = list(TradingAccount.objects.select_for_update().filter(user_id=user_id)
                        .only(*DECISION_FIELDS).order_by("priority", "id"))
        primary = next((a for a in accounts if a.is_primary and a.is_active), None)
        if primary is None or primary.pinned:
            return None
        if (primary.consecutive_failures >= settings.BROKER_FAILOVER_AFTER_FAILURES
                and primary.connection_status != ConnectionStatus.NEEDS_LOGIN):
            return _fail_over(primary, accounts)
        original = next((a for a in accounts if a.pk == primary.standing_in_for_id), None)
        if (original is not None and original.is_active
                and original.connection_status == ConnectionStatus.CONNECTED
                and original.consecutive_successes >= settings.BROKER_FAILBACK_AFTER_SUCCESSES):
            return _switch(primary, original, FailoverKind.FAILBACK, standing_in_for=None,
                           reason=f"{original.name} answered {original.consecutive_successes} health checks "
                                  f"in a row: restored as primary.")
    return None


def is_stand_in_candidate(account: TradingAccount) -> bool:
    """Can take over a failing primary: active, answering, not pinned, and a live broker (a paper
    account in this database never receives a live account's orders by itself)."""
    return (account.is_active and not account.pinned and account.connection_status == ConnectionStatus.CONNECTED
            and not runs_in_database(account.broker))


def _fail_over(primary: TradingAccount, accounts: list[TradingAccount]) -> FailoverEvent | None:
    reason = (f"{primary.name} failed {primary.consecutive_failures} health checks in a row: "
              f"{primary.last_error or 'no answer'}")[:2000]
    stand_in = next((a for a in accounts if a.pk != primary.pk and is_stand_in_candidate(a)), None)
    if stand_in is None:
        # Recorded once per outage (at the streak's threshold); later checks keep looking quietly.
        if primary.consecutive_failures != settings.BROKER_FAILOVER_AFTER_FAILURES:
            return None
        event = FailoverEvent.objects.create(user_id=primary.user_id, kind=FailoverKind.FAILOVER,
                                             from_account=primary, reason=reason, success=False, error=NO_STAND_IN)
        _tell(event, f"{primary.name} is failing and no account could take over: {NO_STAND_IN}")
        return event
    original = primary.standing_in_for_id or primary.pk
    return _switch(primary, stand_in, FailoverKind.FAILOVER, reason=reason,
                   standing_in_for=None if original == stand_in.pk else original)


def _switch(old: TradingAccount, new: TradingAccount, kind: str, *, reason: str,
            standing_in_for: int | None) -> FailoverEvent:
    """Move the primary flag from `old` to `new` (the caller holds the user's row locks)."""
    now = timezone.now()
    TradingAccount.objects.filter(pk=old.pk).update(is_primary=False, standing_in_for=None, updated_at=now)
    TradingAccount.objects.filter(pk=new.pk).update(is_primary=True, standing_in_for=standing_in_for, updated_at=now)
    event = FailoverEvent.objects.create(user_id=old.user_id, kind=kind, from_account=old, to_account=new,
                                         reason=reason, success=True)
    verb = "failed back to" if kind == FailoverKind.FAILBACK else "failed over to"
    _tell(event, f"Primary account {verb} {new.name} (was {old.name}). {reason}")
    return event


def _tell(event: FailoverEvent, summary: str) -> None:
    """The user sees it in their activity log (dashboard, accounts page); operators in the system log
    and the admin's failover events."""
    action = {FailoverKind.FAILBACK: Activity.BROKER_FAILBACK}.get(event.kind, Activity.BROKER_FAILOVER)
    log_activity(action, user=event.user, event=event.pk, success=event.success,
                 from_account=getattr(event.from_account, "name", ""), to_account=getattr(event.to_account, "name", ""),
                 summary=summary[:300])
    log.warning("user %s: %s", event.user_id, summary)
