"""Where a user's market data comes from: the sandbox's price store, or their linked accounts' feeds.

In analyze mode, or without a linked account that has a feed, the price store (the prices the sandbox
fills against). Otherwise the user's linked OpenAlgo-compatible accounts that have a `websocket_url`,
primary first, then by priority: the first healthy one serves, the next takes over when it drops.
The choice is made when a connection authenticates (a client that toggles analyze mode reconnects).
"""
from __future__ import annotations

from dataclasses import dataclass

from accounts.models import User
from accounts.services.usersettings import is_analyze_mode
from brokers.models import TradingAccount
from feed.hub import STORE


@dataclass(frozen=True)
class FeedAccount:
    """What the feed needs of a linked account (the decrypted key stays in the feed process's memory)."""

    id: int
    name: str
    url: str
    api_key: str


def source_of_user(user_id: int) -> str:
    return f"user:{user_id}"


def user_of_source(source: str) -> int:
    return int(source.split(":", 1)[1])


def feed_accounts(user_id: int) -> list[FeedAccount]:
    """The user's active accounts with an upstream feed, in failover order (primary, then priority)."""
    found = []
    for account in TradingAccount.objects.filter(user_id=user_id, is_active=True).order_by(
            "-is_primary", "priority", "id"):
        creds = account.credentials or {}
        url, key = str(creds.get("websocket_url") or "").strip(), str(creds.get("api_key") or "").strip()
        if url.startswith(("ws://", "wss://")) and key:
            found.append(FeedAccount(account.pk, account.name, url, key))
    return found


def source_for(user: User) -> tuple[str, str]:
    """(source, broker name) for a user's connection."""
    if not is_analyze_mode(user.pk) and feed_accounts(user.pk):
        return source_of_user(user.pk), "openalgo"
    return STORE, "sandbox"
