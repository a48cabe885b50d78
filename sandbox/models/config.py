"""The sandbox's one configuration row: capital, leverages, cut-offs, slippage, partial fills, resets."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

__all__ = ['GROUP_EXCHANGES', 'ExchangeGroup', 'SandboxConfig', 'Weekday', 'group_of']


def _default_capital() -> Decimal:
    return Decimal(str(settings.SANDBOX["STARTING_CAPITAL"]))


class ExchangeGroup(models.TextChoices):
    """Exchanges that share an intraday (MIS) square-off time."""

    NSE = "NSE", "NSE / BSE / NFO / BFO"
    CDS = "CDS", "CDS / BCD"
    MCX = "MCX", "MCX"
    NCDEX = "NCDEX", "NCDEX"


GROUP_EXCHANGES: dict[str, tuple[str, ...]] = {
    ExchangeGroup.NSE: ("NSE", "BSE", "NFO", "BFO"),
    ExchangeGroup.CDS: ("CDS", "BCD"),
    ExchangeGroup.MCX: ("MCX",),
    ExchangeGroup.NCDEX: ("NCDEX",),
}


def group_of(exchange: str) -> str | None:
    for group, exchanges in GROUP_EXCHANGES.items():
        if exchange in exchanges:
            return group
    return None


class Weekday(models.IntegerChoices):
    # Cron numbering (0 = Sunday), as django-celery-beat's CrontabSchedule uses.
    SUNDAY = 0, "Sunday"
    MONDAY = 1, "Monday"
    TUESDAY = 2, "Tuesday"
    WEDNESDAY = 3, "Wednesday"
    THURSDAY = 4, "Thursday"
    FRIDAY = 5, "Friday"
    SATURDAY = 6, "Saturday"


_lev = {"max_digits": 6, "decimal_places": 2, "validators": [MinValueValidator(Decimal("0.01"))]}


class SandboxConfig(models.Model):
    """The sandbox's settings (one row, pk=1). Saving it re-times the seeded Celery beat schedules."""

    starting_capital = models.DecimalField(max_digits=18, decimal_places=2, default=_default_capital,
                                           validators=[MinValueValidator(Decimal("1"))],
                                           help_text="Capital of a new or reset sandbox, INR.")
    equity_mis_leverage = models.DecimalField(default=Decimal("5"), **_lev)
    equity_cnc_leverage = models.DecimalField(default=Decimal("1"), **_lev)
    futures_leverage = models.DecimalField(default=Decimal("10"), **_lev)
    option_buy_leverage = models.DecimalField(default=Decimal("1"), help_text="1 = the full premium.", **_lev)
    option_sell_leverage = models.DecimalField(default=Decimal("1"), **_lev)
    squareoff_nse = models.TimeField("square-off NSE/BSE/NFO/BFO", default=dt.time(15, 15))
    squareoff_cds = models.TimeField("square-off CDS/BCD", default=dt.time(16, 45))
    squareoff_mcx = models.TimeField("square-off MCX", default=dt.time(23, 30))
    squareoff_ncdex = models.TimeField("square-off NCDEX", default=dt.time(17, 0))
    slippage_bps = models.DecimalField(max_digits=7, decimal_places=2, default=Decimal("0"),
                                       validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1000"))],
                                       help_text="Adverse slippage on MARKET and stop-market fills, basis points.")
    partial_fills = models.BooleanField(default=False,
                                        help_text="Fill no more than the quantity at the best bid/ask, when known.")
    reset_enabled = models.BooleanField(default=False, help_text="Reset every sandbox weekly.")
    reset_weekday = models.PositiveSmallIntegerField(choices=Weekday.choices, default=Weekday.SUNDAY)
    reset_time = models.TimeField(default=dt.time(0, 0))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "sandbox configuration"
        verbose_name_plural = "sandbox configuration"
        constraints = [models.CheckConstraint(condition=models.Q(pk=1), name="sandbox_config_singleton")]

    def __str__(self) -> str:
        return "Sandbox configuration"

    def save(self, *args, **kwargs) -> None:
        self.pk = 1
        super().save(*args, **kwargs)

    def squareoff_time(self, group: str) -> dt.time:
        return {
            ExchangeGroup.NSE: self.squareoff_nse,
            ExchangeGroup.CDS: self.squareoff_cds,
            ExchangeGroup.MCX: self.squareoff_mcx,
            ExchangeGroup.NCDEX: self.squareoff_ncdex,
        }[group]
