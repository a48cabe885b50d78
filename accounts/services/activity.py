"""Writing the activity (audit) log."""
from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from accounts.models import ActivityLog
from core.clientip import client_ip as core_client_ip


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return core_client_ip(request)


def log_activity(action: str, *, user: Any = None, request: HttpRequest | None = None, actor: Any = None,
                 **details: Any) -> ActivityLog:
    """Record one event. Secrets never go in `details`: callers pass prefixes and names only."""
    agent = request.META.get("HTTP_USER_AGENT", "")[:512] if request is not None else ""
    if actor is not None and actor == user:
        actor = None
    return ActivityLog.objects.create(
        user=user if getattr(user, "pk", None) else None,
        actor=actor if getattr(actor, "pk", None) else None,
        action=action, details=details, ip_address=client_ip(request), user_agent=agent,
    )
