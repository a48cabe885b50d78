"""Connections per API key, counted across feed processes in the shared cache (Redis, or the file cache).

One counter per key: raised when a connection authenticates, lowered when it closes, its TTL refreshed
by each live connection's periodic key re-check (consumers.FeedConsumer._recheck). A feed process that
dies without lowering it leaves its count behind until the TTL runs out with no live connection left.
"""
from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.core.cache import cache


def _name(key_id: int) -> str:
    return f"feed-connections:{key_id}"


def ttl() -> int:
    # Outlives two re-checks, so live connections keep the counter; a crashed process's count goes after it.
    return int(2 * settings.FEED_REAUTH_SECONDS) + 30


def _file_cache() -> Path | None:
    config = settings.CACHES["default"]
    return Path(config["LOCATION"]) if config["BACKEND"].endswith("FileBasedCache") else None


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    # The file cache's incr() is a read then a write (and resets the timeout), so processes take turns.
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "feed-connections.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def take(key_id: int, limit: int) -> bool:
    """Count one more connection of this key, unless `limit` are open already in all feed processes.
    A refusal leaves the counter's TTL as it was (refused clients must not keep a crashed count alive)."""
    name, folder = _name(key_id), _file_cache()
    if folder is not None:
        with _locked(folder):
            count = cache.get(name, 0)
            if count >= limit:
                return False
            cache.set(name, count + 1, ttl())
        return True
    cache.add(name, 0, ttl())
    try:
        count = cache.incr(name)  # Redis's INCR and DECR are atomic and keep the TTL
    except ValueError:  # it expired between add() and incr()
        cache.set(name, 1, ttl())
        count = 1
    if count > limit:
        cache.decr(name)
        return False
    cache.touch(name, ttl())
    return True


def give_back(key_id: int) -> None:
    """A connection of this key has closed."""
    name, folder = _name(key_id), _file_cache()
    if folder is not None:
        with _locked(folder):
            count = cache.get(name)
            if count:
                cache.set(name, count - 1, ttl())
        return
    with contextlib.suppress(ValueError):  # already expired: nothing to give back
        cache.decr(name)


def keep(key_id: int) -> None:
    """A connection of this key is still open: keep its counter alive."""
    cache.touch(_name(key_id), ttl())


def count(key_id: int) -> int:
    return cache.get(_name(key_id), 0)
