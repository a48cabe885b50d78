"""API keys: creation, verification with a shared cache, revocation.

A key is `<prefix>.<secret>`. Verification looks the row up by its indexed prefix and runs one
Argon2 verify of key + pepper; the verified result is then cached under a SHA-256 of the key, so
a busy client pays Argon2 once per API_KEY_CACHE_SECONDS. Invalid keys are cached briefly too.
The cache is the shared one (Redis or the file cache), so a revocation is seen by every process.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from accounts.hashers import pepper
from accounts.models import KEY_CAPABILITIES, Activity, ApiKey, OrderMode, User
from accounts.services.activity import log_activity
from core.errors import DomainError

_hasher = PasswordHasher()
_INVALID = "invalid"
_LAST_USED_EVERY = 60  # seconds: last_used_at is refreshed at most this often per key


class ApiKeyError(DomainError, ValueError):
    """A request about keys that cannot be carried out (the message names the field)."""


@dataclass(frozen=True)
class VerifiedKey:
    user_id: int
    key_id: int
    order_mode: str
    expires_at: datetime | None = None

    @property
    def semi_auto(self) -> bool:
        return self.order_mode == OrderMode.SEMI_AUTO

    @property
    def capabilities(self) -> frozenset[str]:
        return KEY_CAPABILITIES.get(self.order_mode, frozenset())


def cache_key(raw_key: str) -> str:
    return "apikey:" + hashlib.sha256(raw_key.encode()).hexdigest()


def _hash(raw_key: str) -> str:
    return _hasher.hash(pepper(raw_key))


def create_key(user: User, name: str = "default", order_mode: str = OrderMode.AUTO,
               expires_at: datetime | None = None, request=None, actor=None) -> tuple[ApiKey, str]:
    """Create a key and return (row, plaintext). The plaintext is shown once; reveal() decrypts it later."""
    name = (name or "").strip()
    if not name:
        raise ApiKeyError("name: a key needs a name.")
    if order_mode not in OrderMode.values:
        raise ApiKeyError(f"order_mode: must be one of {', '.join(OrderMode.values)}.")
    if ApiKey.objects.filter(user=user, name=name).exists():
        raise ApiKeyError(f"name: {user} already has a key named {name!r}.")
    prefix = secrets.token_hex(6)
    raw = f"{prefix}.{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(user=user, name=name, prefix=prefix, key_hash=_hash(raw), key_encrypted=raw,
                                order_mode=order_mode, expires_at=expires_at)
    log_activity(Activity.APIKEY_CREATED, user=user, request=request, actor=actor, prefix=prefix, name=name,
                 order_mode=order_mode)
    return key, raw


def forget(key: ApiKey) -> None:
    """Drop the cached verification of this key in every process (the cache is shared)."""
    cache.delete(cache_key(key.key_encrypted))


def revoke(key: ApiKey, request=None, actor=None) -> None:
    with transaction.atomic():
        updated = ApiKey.objects.filter(pk=key.pk, is_active=True).update(is_active=False, revoked_at=timezone.now())
    key.is_active = False
    forget(key)
    if updated:
        log_activity(Activity.APIKEY_REVOKED, user=key.user, request=request, actor=actor, prefix=key.prefix,
                     name=key.name)


def deactivate_expired(now: datetime | None = None) -> int:
    """Housekeeping: turn off keys past their expires_at (they already fail verification; this makes the
    key list say so), drop their cached verifications and record it in each owner's activity log."""
    now = now or timezone.now()
    deactivated = 0
    for key in ApiKey.objects.filter(is_active=True, expires_at__lte=now).select_related("user"):
        # Compare-and-swap: a key revoked or changed meanwhile is left as its owner left it.
        if ApiKey.objects.filter(pk=key.pk, is_active=True, expires_at__lte=now).update(is_active=False):
            forget(key)
            log_activity(Activity.APIKEY_CHANGED, user=key.user, prefix=key.prefix, name=key.name,
                         changed=["is_active"], reason="expired")
            deactivated += 1
    return deactivated


def change(key: ApiKey, request=None, actor=None, **fields) -> ApiKey:
    """Change name, order_mode or expires_at; the cached verification is dropped at once."""
    allowed = {"name", "order_mode", "expires_at", "is_active"}
    unknown = set(fields) - allowed
    if unknown:
        raise ApiKeyError(f"{sorted(unknown)[0]}: cannot be changed.")
    if "order_mode" in fields and fields["order_mode"] not in OrderMode.values:
        raise ApiKeyError(f"order_mode: must be one of {', '.join(OrderMode.values)}.")
    for name, value in fields.items():
        setattr(key, name, value)
    key.save(update_fields=list(fields))
    forget(key)
    log_activity(Activity.APIKEY_CHANGED, user=key.user, request=request, actor=actor, prefix=key.prefix,
                 changed=sorted(fields))
    return key


def reveal(key: ApiKey, password: str, request=None) -> str:
    """Return the plaintext key to its owner after they re-enter their password."""
    if not key.user.check_password(password):
        raise ApiKeyError("password: the password is not correct.")
    log_activity(Activity.APIKEY_REVEALED, user=key.user, request=request, prefix=key.prefix, name=key.name)
    return key.key_encrypted


def _verify_uncached(raw_key: str) -> VerifiedKey | None:
    prefix, dot, secret = raw_key.partition(".")
    if not dot or not prefix or not secret or len(prefix) > 16:
        return None
    key = ApiKey.objects.filter(prefix=prefix).only(
        "id", "user_id", "key_hash", "order_mode", "is_active", "expires_at").first()
    if key is None or not key.is_active or key.is_expired:
        return None
    try:
        _hasher.verify(key.key_hash, pepper(raw_key))
    except (VerificationError, InvalidHashError):
        return None
    return VerifiedKey(user_id=key.user_id, key_id=key.id, order_mode=key.order_mode, expires_at=key.expires_at)


def verify(raw_key: str | None) -> VerifiedKey | None:
    """Return who the key belongs to, or None. Cached both ways; cost independent of key count."""
    found = verify_with_user(raw_key, load_user=False)
    return None if found is None else found[0]


def verify_with_user(raw_key: str | None, *, load_user: bool = True) -> tuple[VerifiedKey, User | None] | None:
    """verify() and the key's active owner, in one cache round trip once cached.

    The owner's row is cached with the verification (and dropped with it: forget_user() on any change
    of the user, forget() on any change of the key). Returns None for an invalid key; the user is None
    when the owner is inactive (or not asked for).
    """
    if not raw_key or len(raw_key) > 200:
        return None
    ck = cache_key(raw_key)
    uk = _used_key(ck)
    hits = cache.get_many([ck, uk])  # one round trip: the verification and whether last_used_at is fresh
    hit = hits.get(ck)
    if hit == _INVALID:
        return None
    if hit is not None:
        hit = dict(hit)
        user = hit.pop("user", None)
        found = VerifiedKey(**hit)
        if found.expires_at is not None and found.expires_at <= timezone.now():
            cache.delete(ck)
            return None
        if uk not in hits:
            _touch(uk, found.key_id)
        if user is None and load_user:
            user = _active_user(found.user_id)
        return found, user
    found = _verify_uncached(raw_key)
    if found is None:
        cache.set(ck, _INVALID, settings.API_KEY_INVALID_CACHE_SECONDS)
        return None
    ttl = settings.API_KEY_CACHE_SECONDS
    if found.expires_at is not None:
        ttl = max(1, min(ttl, int((found.expires_at - timezone.now()).total_seconds())))
    user = _active_user(found.user_id) if load_user else None
    entry = dict(found.__dict__)
    if user is not None:
        entry["user"] = user
    cache.set(ck, entry, ttl)
    _touch(uk, found.key_id)
    return found, user


def _active_user(user_id: int) -> User | None:
    # The password hash stays out of the cached entry (it is loaded on demand if ever needed).
    return User.objects.filter(pk=user_id, is_active=True).defer("password").first()


def forget_user(user_id: int) -> None:
    """Drop the cached verifications of every key of this user (they carry the user's row)."""
    keys = [cache_key(raw) for raw in ApiKey.objects.filter(user_id=user_id).values_list("key_encrypted", flat=True)
            if raw]
    if keys:
        cache.delete_many(keys)


def _used_key(ck: str) -> str:
    return "apikey-used:" + ck


def _touch(uk: str, key_id: int) -> None:
    # One write per key per minute at most, so the hot path does not write on every request.
    if cache.add(uk, 1, _LAST_USED_EVERY):
        ApiKey.objects.filter(pk=key_id).update(last_used_at=timezone.now())
