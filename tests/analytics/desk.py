"""A small trading desk with known figures, for the dashboard tests (service, pages and browser).

Two traders: alice trades in the sandbox (strategies "momentum" and "meanrev"), bob on a live account; an
operator. `seed()` writes their orders, fills, realized P&L, traffic, bans, a failover and the heartbeat,
and returns the figures the dashboards must show.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from accounts.services.usersettings import set_analyze_mode
from analytics.models import Heartbeat, IpBan, TrafficLog
from analytics.tasks import HEARTBEAT_TASK, WORKER
from brokers.models import FailoverEvent
from sandbox.models import FundsLedger, SandboxFunds, SandboxOrder, SandboxPosition
from sandbox.models.funds import LedgerKind
from tests.factories import StaffFactory, UserFactory
from tests.trading.factories import TradingAccountFactory
from trading.models import Holding, Order, OrderKind, OrderStatus, Position, PositionHistory, Trade

ZERO = Decimal("0")


@dataclass
class Desk:
    alice: object
    bob: object
    operator: object
    now: dt.datetime


def _order(user, status, *, strategy="", reason="", analyze=True, account=None, at=None, broker_ms="40.000",
           kind=OrderKind.ORDER, symbol="SBIN") -> Order:
    measured = status != OrderStatus.REJECTED and kind == OrderKind.ORDER  # refusals and parents: no broker time
    return Order.objects.create(
        user=user, account=account, exchange="NSE", symbol=symbol, action="BUY", quantity=Decimal("10"),
        price=Decimal("800"), status=status, strategy=strategy, rejection_reason=reason, is_analyze=analyze,
        kind=kind, placed_at=at, filled_quantity=Decimal("10") if status == OrderStatus.COMPLETE else ZERO,
        average_price=Decimal("800") if status == OrderStatus.COMPLETE else ZERO,
        broker_ms=Decimal(broker_ms) if measured else None, overhead_ms=Decimal("2.000") if measured else None,
        validation_ms=Decimal("1.000"))


def _sandbox_pnl(user, amount: str, strategy: str, at: dt.datetime, n: int) -> None:
    order = SandboxOrder.objects.create(user=user, order_id=f"SB-{user.pk}-{n}", exchange="NSE", symbol="SBIN",
                                        action="SELL", quantity=Decimal("10"), price_type="MARKET", product="MIS",
                                        status="COMPLETE", strategy=strategy)
    row = FundsLedger.objects.create(user=user, kind=LedgerKind.PNL, amount=Decimal(amount), order=order,
                                     available_after=ZERO, used_margin_after=ZERO, realized_after=ZERO)
    FundsLedger.objects.filter(pk=row.pk).update(created_at=at)  # auto_now_add: stamped after the fact


def _live_pnl(position: Position, amount: str, order: Order, at: dt.datetime) -> None:
    PositionHistory.objects.create(position=position, order=order, event="DECREASE", quantity=Decimal("-5"),
                                   price=Decimal("1500"), realized_pnl=Decimal(amount), created_at=at)


def seed(now: dt.datetime | None = None) -> Desk:
    now = now or timezone.now()
    day = dt.timedelta(days=1)
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    operator = StaffFactory(username="ops")
    live = TradingAccountFactory(user=bob, broker="openalgo", name="bob-live")
    set_analyze_mode(alice, True)
    SandboxFunds.objects.create(user=alice, starting_capital=Decimal("1000000.00"), available=Decimal("993124.50"),
                                used_margin=Decimal("8125.00"), realized_pnl=Decimal("1249.50"),
                                today_realized_pnl=Decimal("1500.00"), today=timezone.localdate(now))

    # Today: 8 orders (4 filled, 3 rejected, 1 open), a split parent (not counted), one yesterday.
    for broker_ms in ("40.000", "60.000", "80.000"):
        _order(alice, OrderStatus.COMPLETE, strategy="momentum", at=now, broker_ms=broker_ms)
    _order(alice, OrderStatus.REJECTED, reason="Daily loss limit reached", at=now)
    bob_filled = _order(bob, OrderStatus.COMPLETE, analyze=False, account=live, at=now, broker_ms="120.000",
                        symbol="INFY")
    _order(bob, OrderStatus.REJECTED, reason="Market is closed", analyze=False, account=live, at=now)
    _order(bob, OrderStatus.REJECTED, reason="Market is closed", analyze=False, account=live, at=now)
    _order(bob, OrderStatus.OPEN, analyze=False, account=live, at=now, broker_ms="100.000")
    _order(alice, OrderStatus.COMPLETE, kind=OrderKind.SPLIT, at=now)
    _order(alice, OrderStatus.COMPLETE, strategy="meanrev", at=now - day)

    # Realized P&L: alice +1,500.00 today (momentum), -250.50 yesterday (meanrev); bob +320.25 today, +100 two
    # days ago (live, no strategy tag).
    _sandbox_pnl(alice, "1500.00", "momentum", now, 1)
    _sandbox_pnl(alice, "-250.50", "meanrev", now - day, 2)
    position = Position.objects.create(user=bob, account=live, exchange="NSE", symbol="INFY", product="MIS",
                                       net_quantity=Decimal("5"), average_price=Decimal("1450"),
                                       ltp=Decimal("1460"), unrealized_pnl=Decimal("50.00"),
                                       realized_pnl=Decimal("420.25"))
    _live_pnl(position, "320.25", bob_filled, now)
    earlier = _order(bob, OrderStatus.COMPLETE, analyze=False, account=live, at=now - 2 * day, symbol="INFY")
    _live_pnl(position, "100.00", earlier, now - 2 * day)
    Trade.objects.create(order=bob_filled, user=bob,
                         account=live, exchange="NSE", symbol="INFY", action="BUY", product="MIS",
                         quantity=Decimal("10"), price=Decimal("1450"), traded_at=now)
    Holding.objects.create(user=bob, account=live, exchange="NSE", symbol="TCS", quantity=Decimal("4"),
                           average_price=Decimal("3500"), ltp=Decimal("3610.5"), pnl=Decimal("442.00"))
    SandboxPosition.objects.create(user=alice, exchange="NSE", symbol="SBIN", product="MIS", quantity=Decimal("10"),
                                   average_price=Decimal("812.5"), realized_pnl=Decimal("1249.50"))

    # Traffic of the last hour: 10 requests, one 404 and one 500.
    statuses = [200] * 8 + [404, 500]
    TrafficLog.objects.bulk_create([TrafficLog(timestamp=now - dt.timedelta(minutes=n), method="GET", path="/api/",
                                               status=s, duration_ms=3.0) for n, s in enumerate(statuses)])
    IpBan.objects.create(ip="203.0.113.7", reason="50 not-found answers today", created_by="system",
                         expires_at=now + day)
    IpBan.objects.create(ip="198.51.100.9", reason="expired", expires_at=now - day)
    FailoverEvent.objects.create(user=bob, from_account=live, to_account=None, reason="3 failed health checks",
                                 success=False, error="no standby account")

    # The worker ran the heartbeat 30 s ago; beat last sent it 20 minutes ago: stale.
    Heartbeat.objects.update_or_create(name=WORKER, defaults={"seen_at": now - dt.timedelta(seconds=30),
                                                              "detail": "celery@desk"})
    every, _ = IntervalSchedule.objects.get_or_create(every=60, period="seconds")  # gone after a flush
    PeriodicTask.objects.update_or_create(name=HEARTBEAT_TASK, defaults={
        "task": "analytics.tasks.heartbeat", "interval": every, "enabled": True,
        "last_run_at": now - dt.timedelta(minutes=20)})
    return Desk(alice, bob, operator, now)
