"""StrategyPerformance per strategy per date from the day's fills, against hand-computed figures; the
trading day is the strategy's exchange's local date; a re-run replaces the row."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from strategies.jobs import daily_performance
from strategies.models import StrategyPerformance
from strategies.services.performance import compute
from tests.factories import UserFactory
from tests.strategies.desk import IST, deploy, make_strategy
from tests.trading.factories import OrderFactory

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 12, 1)


def fill(deployment, action: str, quantity: str, price: str, hour: int, minute: int = 0, *, day: dt.date = DAY,
         symbol: str = "SBIN"):
    at = dt.datetime.combine(day, dt.time(hour, minute), IST)
    return OrderFactory(user=deployment.user, deployment=deployment, strategy=deployment.strategy.name,
                        symbol=symbol, action=action, quantity=D(quantity), filled_quantity=D(quantity),
                        average_price=D(price), status="COMPLETE", placed_at=at, executed_at=at, is_analyze=True)


def test_the_days_figures_are_stored_as_computed_by_hand():
    strategy = make_strategy(UserFactory())
    d = deploy(strategy)
    # Opened yesterday: the long lot of 5 at 90 is closed today.
    fill(d, "BUY", "5", "90", 15, 0, day=DAY - dt.timedelta(days=1))
    fill(d, "SELL", "5", "100", 9, 20)             # +50 (5 x 10, against yesterday's lot)
    fill(d, "BUY", "10", "100", 9, 30)
    fill(d, "SELL", "4", "110", 10, 0)             # +40
    fill(d, "SELL", "10", "90", 11, 0)             # -60 (6 x -10), and short 4 at 90
    fill(d, "BUY", "4", "95", 12, 0)               # -20
    fill(d, "BUY", "3", "50", 13, 0, symbol="INFY")
    fill(d, "SELL", "3", "80", 14, 0, symbol="INFY")  # +90
    fill(d, "BUY", "2", "100", 9, 0, day=DAY + dt.timedelta(days=1))  # tomorrow: not today's
    row = compute(strategy, DAY)
    assert (row.total_trades, row.winning_trades, row.losing_trades) == (5, 3, 2)
    assert row.total_pnl == D("100.00")  # 50 + 40 - 60 - 20 + 90
    assert row.win_rate == D("60.00")
    # Equity 50, 90, 30, 10, 100: the worst fall is from 90 to 10.
    assert row.max_drawdown == D("80.00")
    # Mean 20; squared deviations 900 + 400 + 6400 + 1600 + 4900 = 14200; / 4 = 3550; sd 59.5819; 20 / sd.
    assert row.sharpe_ratio == D("0.3357")
    assert (row.metrics["gross_profit"], row.metrics["profit_factor"]) == ("180.00", "2.2500")
    assert row.metrics["deployments"] == 1


def test_the_day_is_the_exchanges_local_date():
    strategy = make_strategy(UserFactory())
    d = deploy(strategy)
    fill(d, "BUY", "1", "100", 0, 10)   # 00:10 IST on DAY is still the previous day in UTC
    fill(d, "SELL", "1", "105", 0, 20)
    row = compute(strategy, DAY)
    assert (row.total_trades, row.total_pnl) == (1, D("5.00"))
    assert compute(strategy, DAY - dt.timedelta(days=1)).total_trades == 0


def test_a_rerun_replaces_the_days_row_and_the_task_covers_every_strategy_that_traded():
    first, second, idle = (make_strategy(UserFactory(), name) for name in ("a", "b", "c"))
    for strategy, gain in ((first, "110"), (second, "90")):
        d = deploy(strategy)
        fill(d, "BUY", "1", "100", 10)
        fill(d, "SELL", "1", gain, 11)
    deploy(idle)
    assert "2 strategies" in daily_performance(DAY.isoformat())
    assert "2 strategies" in daily_performance(DAY.isoformat())
    rows = {r.strategy_id: r.total_pnl for r in StrategyPerformance.objects.filter(date=DAY)}
    assert rows == {first.pk: D("10.00"), second.pk: D("-10.00")}
