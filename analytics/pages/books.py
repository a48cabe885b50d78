"""A trader's books as their pages read them, in either mode: the sandbox's own books (analyze mode) or
trading's books of live accounts. Every queryset here is the user's own rows, newest or biggest first.

Orders of both modes are in trading's order table (sandbox orders carry is_analyze); trades, positions,
holdings and funds are kept by whichever broker the mode names: the sandbox's tables, or trading's copies of
a live account's (funds are asked of the live broker itself, outside any transaction).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, QuerySet

from accounts.services.usersettings import is_analyze_mode
from brokers.adapters.base import BrokerError
from brokers.services.accounts import adapter_for
from sandbox.models import FundsLedger, SandboxFunds, SandboxHolding, SandboxPosition, SandboxTrade
from trading.models import Holding, Order, Position, Trade
from trading.services.errors import NoTradingAccount
from trading.services.routing import find_account

SANDBOX, LIVE = "sandbox", "live"
MODES = (SANDBOX, LIVE)


def mode_of(user, asked: str | None) -> str:
    """The mode a page shows: the one asked for (?mode=), else the user's current one."""
    if asked in MODES:
        return asked
    return SANDBOX if is_analyze_mode(user.pk) else LIVE


def orders(user, mode: str) -> QuerySet:
    return Order.objects.for_user(user).filter(is_analyze=mode == SANDBOX).select_related("account")


def trades(user, mode: str) -> QuerySet:
    if mode == SANDBOX:
        return SandboxTrade.objects.filter(user=user).order_by("-id")
    return Trade.objects.for_user(user).select_related("account").order_by("-traded_at", "-id")


def positions(user, mode: str) -> QuerySet:
    if mode == SANDBOX:
        return SandboxPosition.objects.filter(user=user).order_by("exchange", "symbol", "product")
    return Position.objects.for_user(user).select_related("account").order_by("exchange", "symbol", "product")


def holdings(user, mode: str) -> QuerySet:
    if mode == SANDBOX:
        return SandboxHolding.objects.filter(user=user).order_by("exchange", "symbol")
    return Holding.objects.for_user(user).select_related("account").order_by("exchange", "symbol")


@dataclass(frozen=True)
class FundsView:
    """What the funds page shows; `error` says why there is nothing (no account, broker down)."""

    available: Decimal | None = None
    used_margin: Decimal | None = None
    realized: Decimal | None = None
    unrealized: Decimal | None = None
    starting_capital: Decimal | None = None
    today_realized: Decimal | None = None
    account: str = ""
    error: str = ""


def funds(user, mode: str) -> FundsView:
    if mode == SANDBOX:
        row = SandboxFunds.objects.filter(user=user).first()
        if row is None:
            return FundsView(error="Your sandbox opens with its starting capital at your first analyze-mode order.")
        return FundsView(row.available, row.used_margin, row.realized_pnl, row.unrealized_pnl, row.starting_capital,
                         row.today_realized_pnl, account="sandbox")
    try:
        account = find_account(user)
    except NoTradingAccount as exc:
        return FundsView(error=str(exc))
    try:
        live = adapter_for(account).funds()  # the broker's answer: no transaction is open here
    except BrokerError as exc:
        return FundsView(account=account.name, error=f"{account.name}: its broker could not be asked ({exc}).")
    return FundsView(live.available_cash, live.utilised_debits, live.m2m_realized, live.m2m_unrealized,
                     account=account.name)


def ledger(user) -> QuerySet:
    """The sandbox funds' ledger, newest first (the live broker keeps no ledger here)."""
    return FundsLedger.objects.filter(user=user).order_by("-id")


def summary(user) -> dict:
    """The trader's dashboard card: today's orders and rejections, today's realized P&L, open positions (in
    the current mode). Four indexed queries."""
    from django.db.models import Count

    from analytics.services import pnl
    from trading.models import OrderKind, OrderStatus
    from trading.resource_api.filters import ist_day_bounds

    mode = mode_of(user, None)
    today = pnl.today()
    start, end = ist_day_bounds(today)
    todays = Order.objects.for_user(user).filter(placed_at__gte=start, placed_at__lt=end, kind=OrderKind.ORDER)
    counts = todays.aggregate(orders=Count("pk"), rejected=Count("pk", filter=Q(status=OrderStatus.REJECTED)))
    flat = {"quantity": 0} if mode == SANDBOX else {"net_quantity": 0}
    return {**counts, "mode": mode, "open_positions": positions(user, mode).exclude(**flat).count(),
            "realized": sum((r.realized for r in pnl.realized_rows(today, today, user_id=user.pk)), pnl.ZERO)}
