"""Performance figures against hand-computed values (no database: strategies.services.figures)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

from strategies.services.figures import Fill, closed_trades, max_drawdown, performance, sharpe_ratio

T0 = dt.datetime(2026, 12, 1, 4, 0, tzinfo=dt.UTC)
A, B = ("1", "NSE", "SBIN", "MIS"), ("1", "NSE", "INFY", "MIS")


def at(minute: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minute)


def day_of_fills() -> list[Fill]:
    return [
        Fill(at(0), A, D("10"), D("100")),   # opens long 10 @ 100
        Fill(at(1), A, D("-4"), D("110")),   # closes 4: +40
        Fill(at(2), A, D("-10"), D("90")),   # closes 6 @ 90: -60, opens short 4 @ 90
        Fill(at(3), A, D("4"), D("95")),     # covers 4: -20
        Fill(at(4), B, D("5"), D("50")),     # opens long 5 @ 50 on another symbol
        Fill(at(5), B, D("-5"), D("70")),    # closes 5: +100
    ]


def test_it_matches_fills_first_in_first_out_through_a_reversal():
    trades = closed_trades(day_of_fills())
    assert [(t.quantity, t.pnl) for t in trades] == [(D("4"), D("40")), (D("6"), D("-60")), (D("4"), D("-20")),
                                                     (D("5"), D("100"))]


def test_it_matches_the_oldest_lot_first():
    fills = [Fill(at(0), A, D("1"), D("100")), Fill(at(1), A, D("1"), D("200")), Fill(at(2), A, D("-1"), D("150"))]
    assert [t.pnl for t in closed_trades(fills)] == [D("50")]  # against the 100 lot, not the 200 one


def test_the_days_figures_match_a_hand_computation():
    figures = performance(closed_trades(day_of_fills()))
    assert figures["total_trades"] == 4
    assert (figures["winning_trades"], figures["losing_trades"]) == (2, 2)
    assert figures["total_pnl"] == D("60.00")
    assert figures["win_rate"] == D("50.00")
    # Equity 40, -20, -40, 60: from the peak of 40 down to -40.
    assert figures["max_drawdown"] == D("80.00")
    # Mean 15; squared deviations 625 + 5625 + 1225 + 7225 = 14700; / 3 = 4900; sd 70; 15 / 70.
    assert figures["sharpe_ratio"] == D("0.2143")
    metrics = figures["metrics"]
    assert (metrics["gross_profit"], metrics["gross_loss"]) == ("140.00", "80.00")
    assert metrics["profit_factor"] == "1.7500"
    assert (metrics["average_win"], metrics["average_loss"]) == ("70.00", "-40.00")
    assert (metrics["largest_win"], metrics["largest_loss"]) == ("100.00", "-60.00")
    assert metrics["quantity_closed"] == "19"


def test_a_day_without_trades_has_zero_figures_and_no_sharpe():
    figures = performance([])
    assert (figures["total_trades"], figures["win_rate"]) == (0, D("0"))
    assert (figures["total_pnl"], figures["max_drawdown"]) == (D("0.00"), D("0.00"))
    assert figures["sharpe_ratio"] is None


def test_sharpe_needs_two_trades_that_differ():
    assert sharpe_ratio([D("10")]) is None
    assert sharpe_ratio([D("10"), D("10")]) is None
    assert sharpe_ratio([D("10"), D("-10")]) == D("0.0000")


def test_drawdown_of_a_curve_that_only_rises_is_zero_and_of_a_first_loss_is_the_loss():
    assert max_drawdown([D("5"), D("7")]) == D("0")
    assert max_drawdown([D("-30"), D("10"), D("-5")]) == D("30")

