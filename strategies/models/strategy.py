"""A strategy (a named source of signals with a webhook), and the symbols it trades."""
from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

from accounts.fields import EncryptedTextField
from brokers.models import Exchange, PriceType, Product
from trading.models import UserScopedQuerySet

__all__ = ["WEEKDAYS", "Platform", "Strategy", "StrategyStatus", "StrategySymbol", "TradingMode"]

#: Monday..Friday as datetime.date.weekday() numbers: the default trading days.
WEEKDAYS = [0, 1, 2, 3, 4]


def _weekdays() -> list[int]:
    return list(WEEKDAYS)


class Platform(models.TextChoices):
    TRADINGVIEW = "tradingview", "TradingView"
    CHARTINK = "chartink", "ChartInk"
    AMIBROKER = "amibroker", "Amibroker"
    GOCHARTING = "gocharting", "GoCharting"
    PYTHON = "python", "Python"
    GENERIC = "generic", "Generic JSON"


class TradingMode(models.TextChoices):
    """Which side a strategy trades. LONG: BUY enters, SELL exits to flat; SHORT mirrors it; BOTH moves
    to the signal's position_size (smart-order semantics)."""

    LONG = "LONG", "Long only"
    SHORT = "SHORT", "Short only"
    BOTH = "BOTH", "Long and short"


class StrategyStatus(models.TextChoices):
    """Seed 000's strategy status: what the platform last did with the strategy."""

    IDLE = "idle", "Idle"
    RUNNING = "running", "Running"
    STOPPED = "stopped", "Stopped"
    ERROR = "error", "Error"


class Strategy(models.Model):
    """A user's strategy: the webhook its alerts arrive at, its trading side, windows and calendar.

    The webhook id is a random UUID (the URL is the credential of platforms that cannot sign); an
    optional secret (Fernet-encrypted) then requires a valid HMAC-SHA256 of the raw body in the
    X-AlgoDesk-Signature header, or the secret as a `token` field of the body. Times are the exchange's
    local time (its trading-hours template's zone); `trading_days` are weekday numbers (0 = Monday).
    A house strategy (operators only) may be deployed to other users' accounts.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="strategies")
    name = models.CharField(max_length=100, help_text="Also the `strategy` tag of the orders it places.")
    description = models.TextField(blank=True)
    platform = models.CharField(max_length=16, choices=Platform.choices, default=Platform.TRADINGVIEW)
    webhook_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)  # unique => indexed: every hit
    webhook_secret = EncryptedTextField(
        null=True, blank=True,
        help_text="Optional. When set, a delivery must carry the body's HMAC-SHA256 in X-AlgoDesk-Signature "
                  "or this secret as `token` in the body.")
    is_active = models.BooleanField(default=True, help_text="Inactive: its webhook answers 404.")
    is_house = models.BooleanField(
        default=False, help_text="An operator's strategy that other users' accounts may subscribe to.")
    is_intraday = models.BooleanField(default=True, help_text="Intraday: positions are squared off at squareoff_time.")
    trading_mode = models.CharField(max_length=8, choices=TradingMode.choices, default=TradingMode.LONG)
    exchange = models.CharField(max_length=16, choices=Exchange.choices, default=Exchange.NSE,
                                help_text="The exchange whose calendar (sessions, holidays, time zone) it follows.")
    start_time = models.TimeField(default=dt.time(9, 15), help_text="Entries from (exchange time).")
    end_time = models.TimeField(default=dt.time(15, 0), help_text="Entries until (exchange time).")
    squareoff_time = models.TimeField(default=dt.time(15, 15), help_text="Exits until; intraday square-off.")
    trading_days = models.JSONField(default=_weekdays, blank=True, help_text="Weekday numbers, 0 = Monday.")
    parameters = models.JSONField(default=dict, blank=True, help_text="Free-form parameters of the strategy.")
    # Seed 000's run state (seed 004's is_running is `is_running` below).
    status = models.CharField(max_length=8, choices=StrategyStatus.choices, default=StrategyStatus.IDLE)
    schedule = models.JSONField(default=dict, blank=True, help_text="Seed 000's schedule (e.g. a cron spec).")
    last_run_at = models.DateTimeField(null=True, blank=True, help_text="When its last signal was processed.")
    error_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UserScopedQuerySet.as_manager()

    class Meta:
        ordering = ["user_id", "name"]
        verbose_name_plural = "strategies"
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="strategy_unique_name_per_user"),
            models.CheckConstraint(condition=Q(start_time__lt=F("end_time")), name="strategy_start_before_end"),
            models.CheckConstraint(condition=Q(end_time__lte=F("squareoff_time")),
                                   name="strategy_end_not_after_squareoff"),
        ]
        # The unique (user, name) index serves a user's list; webhook_id's unique index serves every delivery.

    def __str__(self) -> str:
        return self.name

    @property
    def is_running(self) -> bool:
        """Seed 004's is_running: active with at least one active deployment is what runs."""
        return self.is_active and self.status == StrategyStatus.RUNNING

    @property
    def has_secret(self) -> bool:
        return bool(self.webhook_secret)

    def clean(self) -> None:
        super().clean()
        errors = {}
        days = self.trading_days
        if not isinstance(days, list) or any(not isinstance(d, int) or isinstance(d, bool) or not 0 <= d <= 6
                                              for d in days):
            errors["trading_days"] = "A list of weekday numbers 0 (Monday) to 6 (Sunday)."
        if self.start_time and self.end_time and self.start_time >= self.end_time:
            errors["end_time"] = "Must be after start_time."
        if self.end_time and self.squareoff_time and self.squareoff_time < self.end_time:
            errors["squareoff_time"] = "Must not be before end_time."
        if self.is_house and self.user_id and not getattr(self.user, "is_staff", False):
            errors["is_house"] = "Only an operator's strategy can be a house strategy."
        if errors:
            raise ValidationError(errors)


class StrategySymbol(models.Model):
    """The symbol mapping: what a signal for `symbol` trades, and how much. A signal for a symbol the
    strategy does not map is refused (HTTP 400) and recorded."""

    strategy = models.ForeignKey(Strategy, on_delete=models.CASCADE, related_name="symbols")
    exchange = models.CharField(max_length=16, choices=Exchange.choices)
    symbol = models.CharField(max_length=64, help_text="OpenAlgo's symbol format, upper case.")
    quantity = models.DecimalField(max_digits=18, decimal_places=6, help_text="Entry quantity (before a "
                                   "deployment's multiplier).")
    product = models.CharField(max_length=8, choices=Product.choices, default=Product.MIS)
    price_type = models.CharField(max_length=8, choices=PriceType.choices, default=PriceType.MARKET)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["strategy_id", "symbol", "exchange"]
        constraints = [
            # Also the index of the webhook's look-up by (strategy, symbol).
            models.UniqueConstraint(fields=["strategy", "symbol", "exchange"], name="strategysymbol_unique"),
            models.CheckConstraint(condition=Q(quantity__gt=Decimal("0")), name="strategysymbol_quantity_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.exchange}:{self.symbol} x {self.quantity.normalize():f}"

    def save(self, *args, **kwargs) -> None:
        self.symbol = (self.symbol or "").strip().upper()
        super().save(*args, **kwargs)
