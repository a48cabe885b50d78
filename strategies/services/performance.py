"""Daily StrategyPerformance rows: a strategy's trades of one trading day (its exchange's local date),
across all its deployments, through the arithmetic of strategies.services.figures."""
from __future__ import annotations

import datetime as dt

from django.db.models import F, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from strategies.models import Strategy, StrategyPerformance
from strategies.services.figures import Fill, closed_trades, performance
from trading.models import Action, Order, OrderKind
from trading.services.calendar import trading_day_start


def day_bounds(exchange: str, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The exchange's local calendar day `day` as aware instants (its zone from the market calendar)."""
    zone = trading_day_start(exchange).tzinfo
    start = dt.datetime.combine(day, dt.time.min, zone)
    return start, dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, zone)


def filled_orders(strategy_ids: list[int] | int) -> QuerySet:
    ids = strategy_ids if isinstance(strategy_ids, list) else [strategy_ids]
    return (Order.objects.filter(deployment__strategy_id__in=ids, kind=OrderKind.ORDER, filled_quantity__gt=0)
            .annotate(filled_at=Coalesce("executed_at", "placed_at")))


def fills_until(strategy: Strategy, end: dt.datetime) -> list[Fill]:
    """Every fill of the strategy's deployments before `end`, oldest first: the lots a day's closing
    fills match against may have been opened on an earlier day (a positional strategy)."""
    rows = (filled_orders(strategy.pk).filter(filled_at__lt=end).order_by("filled_at", "id")
            .values_list("filled_at", "deployment_id", "exchange", "symbol", "product", "action",
                         "filled_quantity", "average_price"))
    return [Fill(at, (str(dep), exchange, symbol, product), qty if action == Action.BUY else -qty, price)
            for at, dep, exchange, symbol, product, action, qty, price in rows]


def compute(strategy: Strategy, day: dt.date) -> StrategyPerformance:
    """Compute and store (insert or replace) the strategy's figures for `day`."""
    start, end = day_bounds(strategy.exchange, day)
    trades = [t for t in closed_trades(fills_until(strategy, end)) if t.at >= start]
    figures = performance(trades)
    figures["metrics"]["deployments"] = len({t.key[0] for t in trades})
    row, _ = StrategyPerformance.objects.update_or_create(
        strategy=strategy, date=day, defaults={**figures, "computed_at": timezone.now()})
    return row


def strategies_that_traded(day: dt.date) -> list[Strategy]:
    """Strategies with a fill on `day` in any exchange's zone (widened by a day each side, then each
    strategy is computed in its own exchange's day, which may find nothing and store zeros)."""
    start = dt.datetime.combine(day - dt.timedelta(days=1), dt.time.min, dt.UTC)
    end = dt.datetime.combine(day + dt.timedelta(days=2), dt.time.min, dt.UTC)
    ids = (Order.objects.filter(deployment__isnull=False, kind=OrderKind.ORDER, filled_quantity__gt=0)
           .annotate(filled_at=Coalesce("executed_at", "placed_at"))
           .filter(filled_at__gte=start, filled_at__lt=end)
           .values_list(F("deployment__strategy_id"), flat=True).distinct())
    return list(Strategy.objects.filter(pk__in=list(ids)).order_by("pk"))


def compute_day(day: dt.date) -> int:
    strategies = strategies_that_traded(day)
    for strategy in strategies:
        compute(strategy, day)
    return len(strategies)
