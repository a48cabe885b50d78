"""Risk settings: one row per user (made when the user is), changed only through the two functions below:
update_risk_settings() for operators (their limits), tighten_risk_settings() for the user (within them)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest

from accounts.models import LIMITS, SWITCHES, Activity, RiskSettings, User, stricter
from accounts.services.activity import log_activity

EDITABLE_FIELDS = LIMITS  # the limits in force (a user may tighten) and, as operator_<name>, the operator's


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


def _check_known(values: dict[str, Any]) -> None:
    unknown = sorted(set(values) - set(EDITABLE_FIELDS))
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "This setting cannot be changed."))


def _save_limits(user: User, apply, *, request: HttpRequest | None,
                 actor: User | None, **details: Any) -> RiskSettings:
    """Lock the row, apply(row) the new values, validate (the model keeps the limits in force within the
    operator's), save, and log each changed field as [old, new]."""
    get_risk_settings(user)  # the row exists even for users made before the signal
    names = [*LIMITS, *(f"operator_{name}" for name in LIMITS)]
    with transaction.atomic():
        row = RiskSettings.objects.select_for_update().get(user=user)
        old = {name: getattr(row, name) for name in names}
        apply(row)
        row.full_clean(exclude=["user"])
        changes = {name: [_as_json(old[name]), _as_json(getattr(row, name))]
                   for name in names if old[name] != getattr(row, name)}
        if changes:
            row.save()
    if changes:
        # The post_save signal already dropped the cached row; drop it again once committed so a reader
        # that re-cached the old row in between does not keep it.
        transaction.on_commit(lambda: forget_risk_settings(row.user_id))
        log_activity(Activity.RISK_CHANGED, user=user, request=request, actor=actor, changes=changes, **details)
    return row


def update_risk_settings(user: User, *, request: HttpRequest | None = None, actor: User | None = None,
                         **values: Any) -> RiskSettings:
    """An operator sets the user's limits (the admin; tests). Each value becomes the operator's limit, and
    the limit in force follows it unless the user had chosen a stricter one (which stays, within it).

    Raises ValidationError (a dict naming the fields) for unknown fields or values out of range.
    """
    _check_known(values)

    def apply(row: RiskSettings) -> None:
        for name, value in values.items():
            if getattr(row, name) == getattr(row, f"operator_{name}"):  # the user follows the operator
                setattr(row, name, value)
            setattr(row, f"operator_{name}", value)

    return _save_limits(user, apply, request=request, actor=actor)


def shown(value: Any) -> str:
    """A limit as people read it: amounts in rupees with grouping, counts with grouping."""
    return f"₹{value:,.2f}" if isinstance(value, Decimal) else f"{value:,}"


def _beyond_operator(name: str, ceiling: Any) -> str:
    if name in SWITCHES:
        return "Only an operator can turn this on for you."
    return f"Your operator allows at most {shown(ceiling)}: enter that or less (0, no limit, is more)."


def tighten_risk_settings(user: User, *, request: HttpRequest | None = None, **values: Any) -> RiskSettings:
    """The user sets the limits in force, each as strict as the operator's or stricter, never looser.

    Raises ValidationError naming each field set beyond the operator's limit (nothing is saved then).
    """
    _check_known(values)

    def apply(row: RiskSettings) -> None:
        errors = {name: _beyond_operator(name, getattr(row, f"operator_{name}")) for name, value in values.items()
                  if stricter(value, getattr(row, f"operator_{name}")) != value}
        if errors:
            raise ValidationError(errors)
        for name, value in values.items():
            setattr(row, name, value)

    return _save_limits(user, apply, request=request, actor=None, by="user")
