"""The action center: requests from semi-auto keys wait here until a person approves or rejects them.

Approval claims the row with a compare-and-swap (pending -> approved) before anything is sent, so
two operators clicking at once, or a double submit, place the request exactly once.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils import timezone

from accounts.services.usersettings import is_analyze_mode
from trading.models import OrderSource, PendingOrder, PendingStatus
from trading.services import handlers
from trading.services.errors import ErrorKind, TradingError

QUEUED_MESSAGE = "Order queued for approval in Action Center"
_NOT_STORED = frozenset({"apikey"})  # the key is a secret and the row already names it


class NotAllowed(TradingError):
    kind = ErrorKind.FORBIDDEN


def queue(user: Any, api_type: str, payload: Mapping, *, api_key_id: int | None = None) -> PendingOrder:
    """Validate the request (bad input is refused now, not at approval) and queue it."""
    handlers.validate(api_type, payload)
    stored = {k: v for k, v in payload.items() if k not in _NOT_STORED}
    return PendingOrder.objects.create(user=user, api_key_id=api_key_id, api_type=api_type, payload=stored)


def queued_body(pending: PendingOrder) -> dict[str, Any]:
    return {"status": "success", "message": QUEUED_MESSAGE, "mode": "semi_auto", "pending_order_id": pending.pk}


def _may_decide(pending: PendingOrder, operator: Any) -> None:
    """A decision is a person's: the owner or an operator, signed in and verified by a second factor.

    django-otp's middleware gives a session's user is_verified(); a user reached through an API key has
    none, so a key's request cannot decide even if a view forgot accounts.permissions."""
    if operator is None or not (operator.pk == pending.user_id or getattr(operator, "is_staff", False)):
        raise NotAllowed("Only the owner or an operator may decide on a pending order.")
    is_verified = getattr(operator, "is_verified", None)
    if not (callable(is_verified) and is_verified()):
        raise NotAllowed("Deciding on a pending order needs a person signed in with a second factor.")


def approve_pending(pending: PendingOrder, operator: Any) -> PendingOrder:
    """Place the queued request once. A request already decided is returned unchanged (nothing placed)."""
    _may_decide(pending, operator)
    now = timezone.now()
    claimed = PendingOrder.objects.filter(pk=pending.pk, status=PendingStatus.PENDING).update(
        status=PendingStatus.APPROVED, decided_by=operator, decided_at=now)
    if claimed != 1:
        pending.refresh_from_db()
        return pending
    try:
        body = {"status": "success", **handlers.run(pending.api_type, pending.user, pending.payload,
                                                     source=OrderSource.API, api_key_id=pending.api_key_id,
                                                     pending=pending)}
        if is_analyze_mode(pending.user_id):
            body["mode"] = "analyze"
        PendingOrder.objects.filter(pk=pending.pk).update(result=body, error="")
    except TradingError as exc:
        PendingOrder.objects.filter(pk=pending.pk).update(
            result={"status": "error", "message": exc.message}, error=exc.message)
    pending.refresh_from_db()
    return pending


def reject_pending(pending: PendingOrder, operator: Any, reason: str = "") -> PendingOrder:
    """Reject a queued request; one already decided is returned unchanged."""
    _may_decide(pending, operator)
    PendingOrder.objects.filter(pk=pending.pk, status=PendingStatus.PENDING).update(
        status=PendingStatus.REJECTED, decided_by=operator, decided_at=timezone.now(),
        error=(reason or "Rejected in the action center.")[:1000])
    pending.refresh_from_db()
    return pending
