"""Market-data reads (quotes, depth, history) that fall back to the user's next healthy account.

A quote is the same whichever of the user's brokers gives it, so when the primary cannot answer (it is
down, its session expired, it offers no history) the read moves on to the user's other active accounts,
connected ones first, by priority. A permanent answer (an unknown symbol) is returned as it is. Orders
never go through here: they stay with the account they were routed to.

On the happy path this costs no query: the other accounts are read only when the primary fails (or when
the health check already marked it failed or needing a login, in which case they are tried first).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from brokers.adapters.base import BrokerAdapter, BrokerError, NotSupported, SessionExpired
from brokers.adapters.registry import runs_in_database
from brokers.models import ConnectionStatus, TradingAccount
from brokers.services import accounts, health

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_ACCOUNTS = 4  # a read tries at most this many accounts


def worth_another_account(exc: BrokerError) -> bool:
    """A fault another account may not have: transient, an expired session, or not offered."""
    return isinstance(exc, SessionExpired | NotSupported) or not exc.permanent


class FallbackReader:
    """Reads through `primary`, falling back to the user's other healthy accounts; sticky: once an
    account answered, the next read of this reader starts there (a multiquote of 500 symbols pays the
    failing primary once, not 500 times)."""

    def __init__(self, primary: TradingAccount, adapter: BrokerAdapter | None = None) -> None:
        self.primary = primary
        self._adapters: dict[int, BrokerAdapter] = {primary.pk: adapter or accounts.adapter_for(primary)}
        self._order: list[TradingAccount] | None = None
        self._expanded = False  # whether the other accounts were read
        self.answered_by: TradingAccount | None = None

    def _others(self) -> list[TradingAccount]:
        rows = (TradingAccount.objects.active().filter(user_id=self.primary.user_id).exclude(pk=self.primary.pk)
                .exclude(connection_status=ConnectionStatus.NEEDS_LOGIN).order_by("priority", "id"))
        healthy = {ConnectionStatus.CONNECTED, ConnectionStatus.DEGRADED}
        others = [a for a in rows if not runs_in_database(a.broker)]
        return sorted(others, key=lambda a: a.connection_status not in healthy)  # stable: priority kept

    def _next(self, tried: set[int]) -> TradingAccount | None:
        if self._order is None:
            if self.primary.connection_status in (ConnectionStatus.FAILED, ConnectionStatus.NEEDS_LOGIN):
                self._order, self._expanded = [*self._others(), self.primary], True  # known down: ask it last
            else:
                self._order = [self.primary]  # the others are read only if it fails
        pending = [a for a in self._order if a.pk not in tried]
        if not pending and not self._expanded:
            self._expanded = True
            self._order.extend(self._others())
            pending = [a for a in self._order if a.pk not in tried]
        return pending[0] if pending else None

    def read(self, fn: Callable[[BrokerAdapter], T]) -> T:
        tried: set[int] = set()
        error: BrokerError | None = None
        while len(tried) < MAX_ACCOUNTS and (account := self._next(tried)) is not None:
            tried.add(account.pk)
            if account.pk not in self._adapters:
                self._adapters[account.pk] = accounts.adapter_for(account)
            adapter = self._adapters[account.pk]
            try:
                result = fn(adapter)
            except BrokerError as exc:
                if not worth_another_account(exc):
                    raise
                error = exc
                if isinstance(exc, SessionExpired):
                    health.note_session_expired(account, exc.message)
                log.info("market data: %s could not answer (%s); trying the next account", account.name, exc.message)
                continue
            if account.pk != self._order[0].pk:  # sticky: start with the one that answered next time
                self._order.remove(account)
                self._order.insert(0, account)
            self.answered_by = account
            return result
        raise error  # the primary at least was tried, so this is its (or a later account's) fault


class DirectReader:
    """The same interface over one adapter, no fallback: analyze mode, or a read naming its account."""

    def __init__(self, adapter: BrokerAdapter) -> None:
        self.adapter = adapter

    def read(self, fn: Callable[[BrokerAdapter], T]) -> T:
        return fn(self.adapter)
