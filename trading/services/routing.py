"""Where a user's orders and reads go: the sandbox in analyze mode, else a trading account's broker.

Used by every /api/v1/ view that reaches a broker (orders, order book, quotes, ...). Costs no query
in analyze mode once the mode is cached, and one indexed query for the account otherwise.
"""
from __future__ import annotations

from typing import Any, NamedTuple

from accounts.services.usersettings import is_analyze_mode
from brokers.adapters.base import AdapterContext, BrokerAdapter
from brokers.adapters.registry import get_adapter
from brokers.models import TradingAccount
from brokers.services.accounts import adapter_for, primary_account
from trading.services.errors import NoTradingAccount

SANDBOX = "sandbox"


class Route(NamedTuple):
    """Where an order goes: the broker adapter, the trading account (None for the sandbox) and whether
    the user is in analyze mode (the sandbox is the broker)."""

    adapter: BrokerAdapter
    account: TradingAccount | None
    analyze: bool


def sandbox_adapter(user_id: int) -> BrokerAdapter:
    return get_adapter(SANDBOX, AdapterContext(user_id=user_id))


def find_account(user: Any, account_name: str | None = None) -> TradingAccount:
    """The user's active account by name, or the primary one. Raises NoTradingAccount."""
    if account_name:
        account = TradingAccount.objects.active().filter(user_id=user.pk, name=account_name).first()
        if account is None:
            raise NoTradingAccount(f"account: no active trading account named {account_name!r}.")
        return account
    account = primary_account(user)
    if account is None or not account.is_active:
        raise NoTradingAccount("No active trading account: add one (and make it primary) or turn on analyze mode.")
    return account


def adapter_for_user(user: Any, account_name: str | None = None) -> Route:
    """The user's route. In analyze mode the account is None: the sandbox is the broker; an account
    named all the same must exist (NoTradingAccount), as in live mode."""
    if is_analyze_mode(user.pk):
        if account_name:
            find_account(user, account_name)
        return Route(sandbox_adapter(user.pk), None, True)
    account = find_account(user, account_name)
    return Route(adapter_for(account), account, False)
