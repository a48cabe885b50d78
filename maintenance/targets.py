"""What retention may clean: the registry of targets, one entry per table.

A target names a table (a model label), the time column that ages its rows, the defaults of its policy,
its archive table when it has one, and what in it a user still needs (`keep`): those rows stay whatever
their age. Adding a table to retention is adding one `register(Target(...))` here; the next `migrate`
creates its policy and nightly schedule (maintenance.services.schedules.ensure_policies).

Models are named by label and looked up when used, so this module imports no app's models at load time.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.apps import apps
from django.db import models, router
from django.db.models import Exists, OuterRef, Q

ARCHIVE = "archive"
DELETE = "delete"


@dataclass(frozen=True)
class Dependent:
    """Rows of another table that belong to a target's row and move with it (an order's fills)."""

    model: str  # label, e.g. "trading.Trade"
    fk: str  # the column naming the target's row, e.g. "order_id"
    archive: str  # label of its archive table


@dataclass(frozen=True)
class Target:
    name: str
    label: str
    model: str  # label, e.g. "analytics.TrafficLog"
    time_field: str
    keep_days: int
    action: str = DELETE
    batch_size: int = 2000  # bench/retention.py: batch transactions stay far under 250 ms on a loaded host
    archive: str = ""  # label of the archive table; empty: rows can only be deleted
    # Narrows a queryset of old rows to those nobody needs (cutoff given); None: every old row goes.
    keep: Callable[[models.QuerySet, datetime], models.QuerySet] | None = None
    # Rows that can still change (orders): lock a batch's rows before copying and deleting them.
    lock: bool = False
    # More ids a batch must take with the ones it found (a split order's legs go with their parent).
    expand: Callable[[list[int]], list[int]] | None = None
    dependents: tuple[Dependent, ...] = field(default_factory=tuple)

    def get_model(self) -> type[models.Model]:
        return apps.get_model(self.model)

    def get_archive(self) -> type[models.Model] | None:
        return apps.get_model(self.archive) if self.archive else None

    @property
    def db(self) -> str:
        """The database alias the table lives in (the logs may have a database of their own)."""
        return router.db_for_write(self.get_model())

    def old_rows(self, cutoff: datetime) -> models.QuerySet:
        """Rows past the cutoff that nobody needs."""
        qs = self.get_model().objects.using(self.db).filter(**{f"{self.time_field}__lt": cutoff})
        return self.keep(qs, cutoff) if self.keep else qs


TARGETS: dict[str, Target] = {}


class UnknownTarget(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown retention target {name!r}; known: {', '.join(sorted(TARGETS))}")


def register(target: Target) -> Target:
    if target.action == ARCHIVE and not target.archive:
        raise ValueError(f"{target.name}: the archive action needs an archive table")
    TARGETS[target.name] = target
    return target


def get(name: str) -> Target:
    try:
        return TARGETS[name]
    except KeyError:
        raise UnknownTarget(name) from None


# --- what a user still needs ------------------------------------------------------------------------------
def _needed() -> Q:
    """An order a user still needs: open, awaiting confirmation, or behind an open position or a holding
    (live, or the sandbox's for analyze-mode orders). Such orders stay whatever their age."""
    from sandbox.models import SandboxHolding, SandboxPosition
    from trading.models import OPEN_STATUSES, Holding, OrderStatus, Position, PositionHistory

    same = {"user": OuterRef("user_id"), "exchange": OuterRef("exchange"), "symbol": OuterRef("symbol")}
    live = {**same, "account": OuterRef("account_id")}
    held_live = (Exists(Position.objects.filter(**live, product=OuterRef("product")).exclude(net_quantity=0))
                 | Exists(Holding.objects.filter(**live, quantity__gt=0))
                 | Exists(PositionHistory.objects.filter(order=OuterRef("pk")).exclude(position__net_quantity=0)))
    held_sandbox = (Exists(SandboxPosition.objects.filter(**same, product=OuterRef("product")).exclude(quantity=0))
                    | Exists(SandboxHolding.objects.filter(**same, quantity__gt=0)))
    return (Q(status__in=[*OPEN_STATUSES, OrderStatus.UNKNOWN]) | (Q(is_analyze=False) & held_live)
            | (Q(is_analyze=True) & held_sandbox))


def _keep_orders(qs: models.QuerySet, cutoff: datetime) -> models.QuerySet:
    """Old orders nobody needs, a split or basket with its legs: a leg never goes on its own (_legs_of adds
    the legs to their parent's batch), and a parent goes only when every leg is old and not needed."""
    from trading.models import Order

    needed_leg = Order.objects.filter(parent=OuterRef("pk")).filter(Q(placed_at__gte=cutoff) | _needed())
    return qs.filter(parent__isnull=True).exclude(_needed()).exclude(Exists(needed_leg))


def _legs_of(ids: list[int]) -> list[int]:
    from trading.models import Order

    return list(Order.objects.filter(parent_id__in=ids).values_list("pk", flat=True))


def _keep_events(qs: models.QuerySet, cutoff: datetime) -> models.QuerySet:
    """An order's events stay as long as a user still needs the order."""
    from trading.models import Order

    return qs.filter(Exists(Order.objects.filter(pk=OuterRef("order_id")).exclude(_needed())))


def _intraday_bars(qs: models.QuerySet, cutoff: datetime) -> models.QuerySet:
    from marketdata.models import StoredInterval

    return qs.exclude(interval=StoredInterval.DAY)  # daily bars are kept


# --- the targets --------------------------------------------------------------------------------------------
register(Target("analytics.traffic", "Traffic logs", "analytics.TrafficLog", "timestamp", 90,
                archive="analytics.TrafficLogArchive"))
register(Target("analytics.api", "API logs", "analytics.ApiLog", "timestamp", 90, archive="analytics.ApiLogArchive"))
register(Target("analytics.system", "System logs", "analytics.SystemLog", "timestamp", 90,
                archive="analytics.SystemLogArchive"))
register(Target("trading.order_events", "Order events", "trading.OrderEvent", "created_at", 365,
                keep=_keep_events))
register(Target("trading.orders", "Orders and their trades", "trading.Order", "placed_at", 365, action=ARCHIVE,
                batch_size=1000, archive="trading.OrderArchive", keep=_keep_orders, lock=True, expand=_legs_of,
                dependents=(Dependent("trading.Trade", "order_id", "trading.TradeArchive"),)))
register(Target("marketdata.intraday_bars", "Intraday bars (1m; daily bars kept)", "marketdata.Bar", "timestamp",
                30, keep=_intraday_bars))
register(Target("strategies.logs", "Strategy logs", "strategies.StrategyLog", "created_at", 365))
