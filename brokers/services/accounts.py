"""Trading accounts: the primary account, pinning, adapters with decrypted credentials and their egress."""
from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import Activity
from accounts.services.activity import log_activity
from brokers.adapters.base import AdapterContext, BrokerAdapter
from brokers.adapters.registry import get_adapter
from brokers.models import TradingAccount
from core.errors import DomainError


class AccountError(DomainError, ValueError):
    """A trading-account change that is not allowed (the message says why)."""


def make_primary(account: TradingAccount) -> TradingAccount:
    """Make `account` its user's primary account, atomically.

    The user's accounts are locked first so two concurrent switches serialise; the old primary
    is unset before the new one is set, so the partial unique constraint never sees two.
    """
    with transaction.atomic():
        locked = {a.pk: a for a in TradingAccount.objects.select_for_update().filter(user_id=account.user_id)
                  .only("pk", "is_primary", "is_active")}
        current = locked.get(account.pk)
        if current is None:
            raise AccountError(f"Trading account {account.pk} no longer exists.")
        if not current.is_active:
            raise AccountError(f"Trading account {account.name!r} is inactive and cannot be primary.")
        now = timezone.now()
        # A person's choice ends any failover: no fail-back will undo it.
        TradingAccount.objects.filter(user_id=account.user_id, is_primary=True).exclude(pk=account.pk).update(
            is_primary=False, standing_in_for=None, updated_at=now)
        TradingAccount.objects.filter(pk=account.pk).update(is_primary=True, standing_in_for=None, updated_at=now)
    account.is_primary, account.standing_in_for_id = True, None
    return account


def primary_account(user: Any) -> TradingAccount | None:
    """The user's primary account, or None if none is set (or it was deactivated)."""
    return TradingAccount.objects.for_user(user).filter(is_primary=True, is_active=True).first()


def adapter_for(account: TradingAccount, *, timeout: float | None = None) -> BrokerAdapter:
    """The broker adapter acting for `account`, with its decrypted credentials and its egress (the
    only way its requests may leave). `timeout` bounds each call (health checks)."""
    context = AdapterContext(user_id=account.user_id, account_id=account.pk,
                             credentials=dict(account.credentials or {}), egress=account.egress, timeout=timeout)
    return get_adapter(account.broker, context)


def set_pinned(account: TradingAccount, pinned: bool, *, request: Any = None, actor: Any = None) -> TradingAccount:
    """Pin (opt out of automatic failover) or unpin an account; recorded in the user's activity log."""
    changed = TradingAccount.objects.filter(pk=account.pk).exclude(pinned=pinned).update(
        pinned=pinned, updated_at=timezone.now())
    account.pinned = pinned
    if changed:
        log_activity(Activity.BROKER_PINNED, user=account.user, request=request, actor=actor, account=account.name,
                     pinned=pinned, summary=f"{account.name} {'pinned' if pinned else 'unpinned'}")
    return account
