"""Risk settings: one row per user (made when the user is), changed only through update()."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.cache import cache
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


def risk_settings_cache_key(user_id: int) -> str:
    return f"risk-settings:{user_id}"


def cached_risk_settings(user_id: int, cached: RiskSettings | None = None) -> RiskSettings:
    """The user's limits as the order pipeline reads them: from the shared cache (no expiry; dropped on
    every save or delete of the row, see signals.py), else one query. `cached` is a value the caller
    already fetched with get_many(). An unsaved default row stands in when none exists yet: reading
    must not write on the hot path."""
    if cached is not None:
        return cached
    row = RiskSettings.objects.filter(user_id=user_id).first() or RiskSettings(user_id=user_id)
    cache.set(risk_settings_cache_key(user_id), row, None)
    return row


def forget_risk_settings(user_id: int) -> None:
    cache.delete(risk_settings_cache_key(user_id))


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
        # The post_save signal already dropped the cached row; drop it again once committed so a reader
        # that re-cached the old row in between does not keep it.
        transaction.on_commit(lambda: forget_risk_settings(row.user_id))
        log_activity(Activity.RISK_CHANGED, user=user, request=request, actor=actor, changes=changes)
    return row
