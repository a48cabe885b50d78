"""Per-user settings, and analyze mode (paper trading) read on every order from the shared cache.

is_analyze_mode() sits on the order hot path: its answer is cached under analyze_mode_cache_key()
with no expiry and dropped whenever the setting row is saved or deleted (signals.py), so a cached
answer costs no query and a change is seen by every process at once.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest

from accounts.models import Activity, SettingCategory, User, UserSetting
from accounts.services.activity import log_activity

_MISSING = object()
#: Analyze mode as already read in this request (user id -> on), when a request scope is open.
_request_memo: ContextVar[dict[int, bool] | None] = ContextVar("analyze_mode_memo", default=None)


def get_setting(user: User | int, key: str, default: Any = None) -> Any:
    user_id = user if isinstance(user, int) else user.pk
    row = UserSetting.objects.filter(user_id=user_id, key=key).first()
    return default if row is None else row.get_value()


def set_setting(user: User, key: str, value: Any, *, category: str = SettingCategory.TRADING,
                encrypted: bool = False, request: HttpRequest | None = None, actor: User | None = None) -> UserSetting:
    """Create or replace a setting. Encrypted values go to the encrypted column only and are never logged."""
    key = (key or "").strip()
    if not key:
        raise ValueError("key: a setting needs a key.")
    if category not in SettingCategory.values:
        raise ValueError(f"category: must be one of {', '.join(SettingCategory.values)}.")
    with transaction.atomic():
        row = UserSetting.objects.select_for_update().filter(user=user, key=key).first()
        old = None if row is None or row.is_encrypted else row.value
        if row is None:
            row = UserSetting(user=user, key=key)
        row.category, row.is_encrypted = category, encrypted
        row.set_value(value)
        row.save()
    details: dict[str, Any] = {"key": key}
    if not encrypted:
        details.update(old=old, new=value)
    log_activity(Activity.SETTING_CHANGED, user=user, request=request, actor=actor, **details)
    return row


def analyze_mode_cache_key(user_id: int) -> str:
    return f"analyze-mode:{user_id}"


@contextmanager
def analyze_mode_request_scope() -> Iterator[None]:
    """Within one API request, read each user's analyze mode from the shared cache once (the route and
    the answer's "mode" then agree, and the second read costs no round trip). A change of the
    setting in the same process drops the memo too (forget_analyze_mode)."""
    token = _request_memo.set({})
    try:
        yield
    finally:
        _request_memo.reset(token)


def is_analyze_mode(user_id: int) -> bool:
    """True when the user's orders go to the sandbox. No query once cached."""
    memo = _request_memo.get()
    if memo is not None and user_id in memo:
        return memo[user_id]
    ck = analyze_mode_cache_key(user_id)
    on = cache.get(ck, _MISSING)
    if on is _MISSING:
        value = UserSetting.objects.filter(user_id=user_id, key=UserSetting.ANALYZE_MODE).values_list(
            "value", flat=True).first()
        on = value is True
        cache.set(ck, on, None)
    if memo is not None:
        memo[user_id] = on
    return on


def read_with_analyze_mode(user_id: int, keys: list[str]) -> dict[str, Any]:
    """get_many(keys) from the shared cache, reading the user's analyze mode in the same round trip
    when a request scope is open and has not read it yet (is_analyze_mode() then answers from the
    memo). Returns the hits among `keys`."""
    memo = _request_memo.get()
    if memo is None or user_id in memo:
        return cache.get_many(keys) if keys else {}
    ck = analyze_mode_cache_key(user_id)
    hits = cache.get_many([ck, *keys])
    if ck in hits:
        memo[user_id] = hits.pop(ck)
    return hits


def set_analyze_mode(user: User, on: bool, request: HttpRequest | None = None, actor: User | None = None) -> None:
    set_setting(user, UserSetting.ANALYZE_MODE, bool(on), request=request, actor=actor)
    # The post_save signal already dropped the entry; drop it again once the transaction commits so a
    # reader that re-cached the old value in between does not keep it.
    transaction.on_commit(lambda: forget_analyze_mode(user.pk))


def forget_analyze_mode(user_id: int) -> None:
    memo = _request_memo.get()
    if memo is not None:
        memo.pop(user_id, None)
    cache.delete(analyze_mode_cache_key(user_id))
