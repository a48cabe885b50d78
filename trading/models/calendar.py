"""The market calendar: trading-hours templates, sessions and exchange holidays.

A template gives the weekly timetable of a group of exchanges; a MarketHoliday is one calendar
entry per date whose per-exchange rows override that timetable (closed, or open only in a window,
such as MCX's evening session on an equity holiday or Diwali's Muhurat session).
"""
from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

__all__ = [
    "HolidayType",
    "MarketHoliday",
    "MarketHolidayExchange",
    "TradingHoursTemplate",
    "TradingSession",
    "Weekday",
]


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class HolidayType(models.TextChoices):
    TRADING_HOLIDAY = "TRADING_HOLIDAY", "Trading holiday"
    SETTLEMENT_HOLIDAY = "SETTLEMENT_HOLIDAY", "Settlement holiday"
    SPECIAL_SESSION = "SPECIAL_SESSION", "Special session"


class TradingHoursTemplate(models.Model):
    """The weekly timetable shared by a group of exchanges, in the exchanges' own time zone."""

    name = models.CharField(max_length=100, unique=True)
    time_zone = models.CharField(max_length=64, default="Asia/Kolkata")
    exchanges = models.JSONField(default=list, help_text='Exchange codes it applies to, e.g. ["NSE", "BSE"].')
    is_active = models.BooleanField(default=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        # JSON containment is not portable to SQLite, so "one active template per exchange" is checked here.
        if not isinstance(self.exchanges, list) or not all(isinstance(e, str) and e for e in self.exchanges):
            raise ValidationError({"exchanges": "A list of exchange codes."})
        self.exchanges = [e.strip().upper() for e in self.exchanges]
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError({"time_zone": f"Unknown time zone {self.time_zone!r}."}) from None
        if self.is_active:
            others = TradingHoursTemplate.objects.filter(is_active=True).exclude(pk=self.pk)
            taken = {e for t in others for e in t.exchanges} & set(self.exchanges)
            if taken:
                raise ValidationError({"exchanges": f"Already in another active template: {', '.join(sorted(taken))}."})


class TradingSession(models.Model):
    """One weekday of a template: pre-open, the regular session and the post-close session."""

    template = models.ForeignKey(TradingHoursTemplate, on_delete=models.CASCADE, related_name="sessions")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    pre_market_start = models.TimeField(null=True, blank=True)
    pre_market_end = models.TimeField(null=True, blank=True)
    market_open = models.TimeField(null=True, blank=True)
    market_close = models.TimeField(null=True, blank=True)
    post_market_start = models.TimeField(null=True, blank=True)
    post_market_end = models.TimeField(null=True, blank=True)
    is_trading_day = models.BooleanField(default=True)

    class Meta:
        ordering = ["template", "weekday"]
        constraints = [
            # The unique index also serves the per-template lookup of a weekday.
            models.UniqueConstraint(fields=["template", "weekday"], name="trading_session_template_weekday_uniq"),
            models.CheckConstraint(condition=Q(weekday__gte=0, weekday__lte=6), name="trading_session_weekday_range"),
            models.CheckConstraint(
                condition=Q(is_trading_day=False)
                | Q(market_open__isnull=False, market_close__isnull=False, market_open__lt=F("market_close")),
                name="trading_session_open_before_close",
            ),
            models.CheckConstraint(
                condition=Q(pre_market_start__isnull=True, pre_market_end__isnull=True)
                | Q(pre_market_start__lt=F("pre_market_end")),
                name="trading_session_pre_market_window",
            ),
            models.CheckConstraint(
                condition=Q(post_market_start__isnull=True, post_market_end__isnull=True)
                | Q(post_market_start__lt=F("post_market_end")),
                name="trading_session_post_market_window",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template} {self.get_weekday_display()}"


class MarketHoliday(models.Model):
    """One calendar entry for a date; its exchange rows say which exchange is closed or open when."""

    date = models.DateField(unique=True)  # the unique index serves the by-date and by-year lookups
    description = models.CharField(max_length=200)
    holiday_type = models.CharField(max_length=20, choices=HolidayType.choices, default=HolidayType.TRADING_HOLIDAY)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.description}"


class MarketHolidayExchange(models.Model):
    """How one exchange trades on a MarketHoliday's date: closed, or open only from start to end."""

    holiday = models.ForeignKey(MarketHoliday, on_delete=models.CASCADE, related_name="exchanges")
    exchange = models.CharField(max_length=20)
    is_open = models.BooleanField(default=False)
    start_time = models.TimeField(null=True, blank=True)
    end_time = models.TimeField(null=True, blank=True)

    class Meta:
        ordering = ["holiday", "exchange"]
        constraints = [
            models.UniqueConstraint(fields=["holiday", "exchange"], name="market_holiday_exchange_uniq"),
            models.CheckConstraint(
                condition=Q(is_open=False, start_time__isnull=True, end_time__isnull=True)
                | Q(is_open=True, start_time__isnull=False, end_time__isnull=False, start_time__lt=F("end_time")),
                name="market_holiday_exchange_window",
            ),
        ]

    def __str__(self) -> str:
        if self.is_open:
            return f"{self.exchange} open {self.start_time:%H:%M}-{self.end_time:%H:%M}"
        return f"{self.exchange} closed"

    def save(self, *args, **kwargs) -> None:
        self.exchange = self.exchange.strip().upper()
        super().save(*args, **kwargs)

    def clean(self) -> None:
        self.exchange = self.exchange.strip().upper()  # before the unique check, which compares exactly


# Cached calendar answers are dropped whenever a calendar row changes. The receivers live beside the
# models, not in the service, so they are connected in every process (web, worker, shell) that loads
# the models, whether or not it ever imported the service.
@receiver([post_save, post_delete], sender=TradingHoursTemplate)
@receiver([post_save, post_delete], sender=TradingSession)
@receiver([post_save, post_delete], sender=MarketHoliday)
@receiver([post_save, post_delete], sender=MarketHolidayExchange)
def _calendar_changed(**kwargs) -> None:
    from trading.services.calendar import invalidate_cache  # the service imports this module

    invalidate_cache()
