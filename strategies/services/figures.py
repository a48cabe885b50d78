"""The arithmetic of strategy performance and P&L: fills in, Decimal figures out. No database here, so
every figure can be checked against a hand computation (tests/strategies/test_performance_math.py).

A *trade* is a closing fill: the part of a fill that reduces an open position, matched first in, first
out against the lots that opened it; its P&L is realized then. Opening fills are not trades.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

ZERO = Decimal("0")
CENT = Decimal("0.01")
RATIO = Decimal("0.0001")


@dataclass(frozen=True)
class Fill:
    """One filled order of a strategy: signed by its action (BUY positive), at its average price."""

    at: dt.datetime
    key: tuple[str, ...]  # (deployment id, exchange, symbol, product): positions never net across these
    quantity: Decimal  # signed: positive bought, negative sold
    price: Decimal


@dataclass(frozen=True)
class ClosedTrade:
    at: dt.datetime
    key: tuple[str, ...]
    quantity: Decimal  # the quantity closed (positive)
    pnl: Decimal


def closed_trades(fills: Iterable[Fill]) -> list[ClosedTrade]:
    """Match fills first in, first out per key; a fill that crosses through zero closes the old side and
    opens the new one with the rest. Fills must come in time order."""
    lots: dict[tuple[str, ...], deque[list[Decimal]]] = defaultdict(deque)  # [signed quantity, price]
    trades = []
    for fill in fills:
        open_lots, remaining, pnl, closed = lots[fill.key], fill.quantity, ZERO, ZERO
        while remaining and open_lots and (open_lots[0][0] > 0) != (remaining > 0):
            lot = open_lots[0]
            matched = min(abs(lot[0]), abs(remaining))
            side = 1 if lot[0] > 0 else -1  # a long lot gains when sold above its price
            pnl += side * matched * (fill.price - lot[1])
            closed += matched
            lot[0] -= side * matched
            remaining += side * matched
            if lot[0] == 0:
                open_lots.popleft()
        if closed:
            trades.append(ClosedTrade(fill.at, fill.key, closed, pnl))
        if remaining:
            open_lots.append([remaining, fill.price])
    return trades


def max_drawdown(pnls: Iterable[Decimal]) -> Decimal:
    """The largest fall of cumulative P&L from its highest point so far (the curve starts at 0)."""
    peak = equity = worst = ZERO
    for pnl in pnls:
        equity += pnl
        peak = max(peak, equity)
        worst = max(worst, peak - equity)
    return worst


def sharpe_ratio(pnls: list[Decimal]) -> Decimal | None:
    """Mean over sample standard deviation of the trades' P&L (per trade, not annualized); None with
    fewer than two trades or when every trade made the same."""
    if len(pnls) < 2:
        return None
    mean = sum(pnls, ZERO) / len(pnls)
    variance = sum(((p - mean) ** 2 for p in pnls), ZERO) / (len(pnls) - 1)
    if variance == 0:
        return None
    return (mean / variance.sqrt()).quantize(RATIO)


def performance(trades: list[ClosedTrade]) -> dict:
    """The day's figures of StrategyPerformance from its closed trades (in time order)."""
    pnls = [t.pnl for t in trades]
    wins = [p for p in pnls if p > 0]
    losses = [p for p in pnls if p < 0]
    gross_profit, gross_loss = sum(wins, ZERO), -sum(losses, ZERO)
    total = len(pnls)
    metrics = {
        "gross_profit": str(gross_profit.quantize(CENT)),
        "gross_loss": str(gross_loss.quantize(CENT)),
        "profit_factor": str((gross_profit / gross_loss).quantize(RATIO)) if gross_loss else None,
        "average_win": str((gross_profit / len(wins)).quantize(CENT)) if wins else None,
        "average_loss": str((-gross_loss / len(losses)).quantize(CENT)) if losses else None,
        "largest_win": str(max(wins).quantize(CENT)) if wins else None,
        "largest_loss": str(min(losses).quantize(CENT)) if losses else None,
        "quantity_closed": str(sum((t.quantity for t in trades), ZERO).normalize()),
        "breakeven_trades": total - len(wins) - len(losses),
    }
    return {
        "total_trades": total,
        "winning_trades": len(wins),
        "losing_trades": len(losses),
        "total_pnl": sum(pnls, ZERO).quantize(CENT),
        "max_drawdown": max_drawdown(pnls).quantize(CENT),
        "sharpe_ratio": sharpe_ratio(pnls),
        "win_rate": (Decimal(len(wins) * 100) / total).quantize(CENT) if total else ZERO,
        "metrics": metrics,
    }

