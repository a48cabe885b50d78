"""Risk settings: one row per user (made when the user is), changed only through update()."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest

from accounts.models import Activity, RiskSettings, User
from accounts.services.activity import log_activity

EDITABLE_FIELDS = (
    "max_order_value", "max_position_value", "daily_loss_limit", "max_open_orders", "max_orders_per_day",
    "trading_enabled", "allow_after_market_orders",
)


def get_risk_settings(user: User | int) -> RiskSettings:
    user_id = user if isinstance(user, int) else user.pk
    settings, _ = RiskSettings.objects.get_or_create(user_id=user_id)
    return settings


def _as_json(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def update_risk_settings(user: User, *, request: HttpRequest | None = None, actor: User | None = None,
                         **values: Any) -> RiskSettings:
    """Validate and save new limits; the activity log gets each changed field as [old, new].

    Raises ValidationError (a dict naming the fields) for unknown fields or values out of range.
    """
    unknown = sorted(set(values) - set(EDITABLE_FIELDS))
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "This setting cannot be changed."))
    get_risk_settings(user)  # the row exists even for users made before the signal
    with transaction.atomic():
        row = RiskSettings.objects.select_for_update().get(user=user)
        old = {name: getattr(row, name) for name in values}
        for name, value in values.items():
            setattr(row, name, value)
        row.full_clean(exclude=["user"])
        changes = {name: [_as_json(old[name]), _as_json(getattr(row, name))]
                   for name in values if old[name] != getattr(row, name)}
        if changes:
            row.save()
    if changes:
        log_activity(Activity.RISK_CHANGED, user=user, request=request, actor=actor, changes=changes)
    return row
