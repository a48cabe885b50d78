"""An intraday strategy's square-off at its time: every open position of its running deployments is
closed through the order pipeline, unless its exchange is closed today (a holiday) or today is not one
of its trading days. Idempotent: each exit's key carries the day, and a flat deployment places nothing."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils import timezone

from strategies.models import Deployment, DeploymentStatus, LogLevel, Strategy, StrategyLog
from strategies.services import exits
from trading.models import OrderSource
from trading.services import calendar


@dataclass
class SquareOff:
    strategy_id: int
    skipped: str = ""
    deployments: int = 0
    orders: list[int] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        if self.skipped:
            return f"strategy {self.strategy_id} square-off skipped: {self.skipped}"
        return (f"strategy {self.strategy_id} square-off: {self.deployments} deployment(s), "
                f"{len(self.orders)} order(s), {len(self.failures)} failure(s)")


def local_date(strategy: Strategy, at: dt.datetime) -> dt.date:
    return at.astimezone(calendar.trading_day_start(strategy.exchange, at).tzinfo).date()


def reason_to_skip(strategy: Strategy, at: dt.datetime) -> str:
    if not strategy.is_active:
        return "the strategy is inactive"
    if not strategy.is_intraday:
        return "the strategy is not intraday"
    local_day = local_date(strategy, at)
    if local_day.weekday() not in (strategy.trading_days or []):
        return f"{local_day:%A} is not one of its trading days"
    try:
        session = calendar.session_window(strategy.exchange, local_day)
    except ValueError as exc:
        return str(exc)
    if session is None:
        status = calendar.market_status(strategy.exchange, at)
        return f"{strategy.exchange} is closed on {local_day}: {status.reason}"
    return ""


def square_off(strategy: Strategy, *, at: dt.datetime | None = None, scheduled: bool = True,
               source: str = OrderSource.STRATEGY) -> SquareOff:
    """Close the positions of the strategy's active and paused deployments. `scheduled` applies the
    calendar (the beat's run); an operator's or owner's square-off (scheduled=False) always runs."""
    at = at or timezone.now()
    result = SquareOff(strategy.pk)
    if scheduled:
        result.skipped = reason_to_skip(strategy, at)
        if result.skipped:
            return result
    # One occasion per local trading day: a retried run reaches the first exits, places none again.
    occasion = f"square-off-{local_date(strategy, at)}" if scheduled else None
    deployments = (Deployment.objects.filter(strategy=strategy, status__in=[DeploymentStatus.ACTIVE,
                                                                             DeploymentStatus.PAUSED])
                   .select_related("strategy", "user", "account").order_by("pk"))
    for deployment in deployments:
        result.deployments += 1
        closing = exits.close_deployment(deployment, occasion=occasion, source=source)
        result.orders += closing.order_ids
        if closing.error:
            result.failures.append(f"deployment {deployment.pk}: {closing.error}")
        result.failures += [f"deployment {deployment.pk} {e.exchange}:{e.symbol}: {e.error}"
                            for e in closing.exits if not e.ok]
    StrategyLog.objects.create(
        strategy=strategy, level=LogLevel.ERROR if result.failures else LogLevel.INFO,
        message=str(result)[:500], data={"orders": result.orders, "failures": result.failures[:20]})
    return result
