"""Trading accounts: the primary account, adapters with decrypted credentials, connection health."""
from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from brokers.adapters.base import AdapterContext, BrokerAdapter, BrokerError
from brokers.adapters.registry import get_adapter
from brokers.models import ConnectionStatus, TradingAccount


class AccountError(ValueError):
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
        TradingAccount.objects.filter(user_id=account.user_id, is_primary=True).exclude(pk=account.pk).update(
            is_primary=False, updated_at=now)
        TradingAccount.objects.filter(pk=account.pk).update(is_primary=True, updated_at=now)
    account.is_primary = True
    return account


def primary_account(user: Any) -> TradingAccount | None:
    """The user's primary account, or None if none is set (or it was deactivated)."""
    return TradingAccount.objects.for_user(user).filter(is_primary=True, is_active=True).first()


def adapter_for(account: TradingAccount) -> BrokerAdapter:
    """The broker adapter acting for `account`, with its decrypted credentials."""
    context = AdapterContext(user_id=account.user_id, account_id=account.pk,
                             credentials=dict(account.credentials or {}))
    return get_adapter(account.broker, context)


def record_health(account: TradingAccount, ok: bool, error: str = "") -> TradingAccount:
    """Record the outcome of a health check or broker call.

    Success: connected. A first failure after being connected: degraded; further failures: failed.
    Written with update() so a stale in-memory copy never overwrites credentials.
    """
    now = timezone.now()
    if ok:
        fields: dict[str, Any] = {"connection_status": ConnectionStatus.CONNECTED, "last_connected_at": now,
                                  "last_error": ""}
    else:
        previous = (TradingAccount.objects.filter(pk=account.pk).values_list("connection_status", flat=True)
                    .first())
        status = ConnectionStatus.DEGRADED if previous == ConnectionStatus.CONNECTED else ConnectionStatus.FAILED
        fields = {"connection_status": status, "last_error": (error or "unknown error")[:2000]}
    TradingAccount.objects.filter(pk=account.pk).update(updated_at=now, **fields)
    for name, value in fields.items():
        setattr(account, name, value)
    return account


def check_connection(account: TradingAccount) -> tuple[bool, str]:
    """Ping the broker (outside any transaction) and record the outcome. Returns (ok, message)."""
    try:
        answer = adapter_for(account).ping()
    except BrokerError as exc:
        record_health(account, False, exc.message)
        return False, exc.message
    except Exception as exc:  # a misconfigured adapter must be recorded, not crash the caller
        message = f"{type(exc).__name__}: {exc}"
        record_health(account, False, message)
        return False, message
    record_health(account, True)
    return True, f"{answer} answered"
