"""Square-off, T+1 settlement, daily snapshots, resets, and the beat schedules that run them."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from sandbox import tasks
from sandbox.models import (
    DailyPnL,
    FundsLedger,
    LedgerKind,
    OrderStatus,
    SandboxConfig,
    SandboxHolding,
    SandboxOrder,
    SandboxPosition,
)
from sandbox.services import settlement, snapshots, squareoff
from tests.sandbox.factories import ist, price

pytestmark = pytest.mark.django_db


def _mis_book(sandbox):
    price("SBIN", "1000")
    price("GOLDM05DEC24FUT", "76000", exchange="MCX")
    sandbox.place("SBIN", "BUY", 100)
    sandbox.place("SBIN", "BUY", 10, product="CNC")
    resting = sandbox.place("SBIN", "BUY", 5, price_type="LIMIT", price="900")
    sandbox.place("GOLDM05DEC24FUT", "SELL", 1, exchange="MCX")
    return resting


def test_square_off_flattens_mis_positions_of_the_group_and_cancels_its_orders(sandbox):
    resting = _mis_book(sandbox)
    price("SBIN", "1010")
    result = squareoff.square_off_group("NSE", at=ist(15, 15))
    sandbox.check()
    assert (result.closed, result.cancelled, result.failed) == (1, 1, 0)
    assert SandboxOrder.objects.get(order_id=resting.broker_order_id).status == OrderStatus.CANCELLED
    positions = {(p.exchange, p.product): p.quantity for p in SandboxPosition.objects.all()}
    assert positions[("NSE", "MIS")] == 0
    assert positions[("NSE", "CNC")] == 10  # delivery is not squared off
    assert positions[("MCX", "MIS")] == -1  # another group, another time
    funds = sandbox.funds()
    assert funds.realized_pnl == D("1000.00")
    assert funds.used_margin == D("10000.00") + D("7600.00")  # CNC + the MCX short (10x)
    assert squareoff.square_off_group("NSE", at=ist(15, 16)).closed == 0  # a rerun finds nothing


def test_square_off_is_skipped_on_a_holiday(sandbox, monkeypatch):
    _mis_book(sandbox)
    monkeypatch.setattr(squareoff, "trades_on", lambda exchange, day: False)
    result = squareoff.square_off_group("NSE", at=ist(15, 15))
    assert (result.closed, result.holiday) == (0, ["NSE", "BSE", "NFO", "BFO"])
    assert "skipped (holiday)" in str(result)
    assert SandboxPosition.objects.get(user=sandbox.user, product="MIS", exchange="NSE").quantity == 100


def test_square_off_asks_the_market_calendar(sandbox, monkeypatch):
    from trading.services import calendar

    asked = []
    monkeypatch.setattr(calendar, "session_window", lambda exchange, day: asked.append((exchange, day)))
    squareoff.square_off_group("MCX", at=ist(23, 30))
    assert asked == [("MCX", ist(23, 30).date())]


def test_the_square_off_task_returns_a_one_line_summary(sandbox, monkeypatch):
    _mis_book(sandbox)
    monkeypatch.setattr(squareoff, "trades_on", lambda exchange, day: True)
    summary = tasks.square_off.run("MCX")
    assert summary.startswith("sandbox square-off MCX: 0 orders cancelled, 1 positions closed")
    assert "\n" not in summary


def test_cnc_buys_settle_into_holdings_at_t_plus_1(sandbox):
    price("SBIN", "800")
    sandbox.place("SBIN", "BUY", 10, product="CNC")
    price("SBIN", "820")
    sandbox.place("SBIN", "BUY", 10, product="CNC")
    today = ist(0, 0).date()
    assert settlement.settle_cnc(at=ist(23, 0, today)).settled == 0  # the same day: nothing yet
    result = settlement.settle_cnc(at=ist(0, 0, today + dt.timedelta(days=1)))
    sandbox.check()
    assert result.settled == 1
    holding = SandboxHolding.objects.get(user=sandbox.user, symbol="SBIN")
    assert (holding.quantity, holding.average_price, holding.margin_blocked) == (20, D("810"), D("16200.00"))
    assert settlement.settle_cnc(at=ist(0, 1, today + dt.timedelta(days=1))).settled == 0  # idempotent
    holdings = sandbox.adapter.holdings()
    assert [(h.symbol, h.quantity, h.pnl) for h in holdings] == [("SBIN", 20, D("200"))]


def test_holdings_can_be_sold_and_release_their_cost(sandbox):
    price("SBIN", "800")
    sandbox.place("SBIN", "BUY", 10, product="CNC")
    settlement.settle_cnc(at=ist(0, 0, ist(0, 0).date() + dt.timedelta(days=1)))
    price("SBIN", "850")
    sandbox.place("SBIN", "SELL", 4, product="CNC")
    funds = sandbox.funds()
    assert (funds.realized_pnl, funds.used_margin) == (D("200.00"), D("4800.00"))
    assert SandboxHolding.objects.get(user=sandbox.user).quantity == 6


def test_the_daily_snapshot_records_the_day(sandbox):
    price("SBIN", "1000")
    sandbox.place("SBIN", "BUY", 10)
    price("SBIN", "1010")
    sandbox.place("SBIN", "SELL", 5)
    price("SBIN", "1020")
    assert snapshots.daily_snapshot() == 1
    row = DailyPnL.objects.get(user=sandbox.user)
    assert (row.realized_pnl, row.unrealized_pnl, row.total_pnl) == (D("50.00"), D("100.00"), D("150.00"))
    snapshots.daily_snapshot()
    assert DailyPnL.objects.count() == 1  # a rerun overwrites the day


def test_reset_returns_the_sandbox_to_the_starting_capital(sandbox, other_sandbox):
    price("SBIN", "1000")
    sandbox.place("SBIN", "BUY", 10)
    sandbox.place("SBIN", "BUY", 10, price_type="LIMIT", price="900")
    other_sandbox.place("SBIN", "BUY", 10)
    call_command("sandbox", "reset", sandbox.user.username)
    funds = sandbox.funds()
    assert (funds.available, funds.used_margin, funds.realized_pnl) == (D("10000000.00"), 0, 0)
    assert not SandboxOrder.objects.filter(user=sandbox.user).exists()
    assert SandboxOrder.objects.filter(user=other_sandbox.user).count() == 1
    assert FundsLedger.objects.filter(user=sandbox.user).first().kind == LedgerKind.RESET
    assert other_sandbox.funds().used_margin == D("2000.00")


def test_the_weekly_reset_does_nothing_while_disabled(sandbox):
    price("SBIN", "1000")
    sandbox.place("SBIN", "BUY", 10)
    assert "disabled" in tasks.weekly_reset.run()
    assert sandbox.funds().used_margin == D("2000.00")
    config = SandboxConfig.objects.get(pk=1)
    config.reset_enabled = True
    config.save()
    assert tasks.weekly_reset.run() == "sandbox weekly reset: 1 sandboxes reset"
    assert sandbox.funds().used_margin == 0


def test_the_schedules_are_seeded_in_ist_and_follow_the_configuration(db):
    jobs = {t.name: t for t in PeriodicTask.objects.filter(name__startswith="sandbox: ").select_related("crontab")}
    squareoff_nse = jobs["sandbox: square-off MIS NSE"]
    assert (squareoff_nse.crontab.hour, squareoff_nse.crontab.minute) == ("15", "15")
    assert str(squareoff_nse.crontab.timezone) == "Asia/Kolkata"
    assert squareoff_nse.args == '["NSE"]'
    assert {jobs[f"sandbox: square-off MIS {g}"].crontab.hour for g in ("CDS", "MCX", "NCDEX")} == {"16", "23", "17"}
    assert jobs["sandbox: match resting orders (safety net)"].crontab.minute == "*"
    assert not jobs["sandbox: weekly fund reset"].enabled
    config = SandboxConfig.objects.get(pk=1)
    config.squareoff_mcx = dt.time(23, 0)
    config.reset_enabled = True
    config.save()
    mcx = PeriodicTask.objects.select_related("crontab").get(name="sandbox: square-off MIS MCX")
    assert (mcx.crontab.hour, mcx.crontab.minute) == ("23", "0")
    assert PeriodicTask.objects.get(name="sandbox: weekly fund reset").enabled


def test_every_seeded_schedule_names_a_task_the_celery_app_knows(db):
    from config.celery import app

    app.loader.import_default_modules()
    seeded = set(PeriodicTask.objects.filter(name__startswith="sandbox: ").values_list("task", flat=True))
    assert seeded == {"sandbox.tasks.match_all", "sandbox.tasks.square_off", "sandbox.tasks.settle_cnc",
                      "sandbox.tasks.daily_pnl_snapshot", "sandbox.tasks.weekly_reset"}
    assert seeded <= set(app.tasks)
