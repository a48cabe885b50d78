"""Signals (every webhook delivery, kept), what each produced per deployment, logs and daily performance."""
from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

__all__ = ["LogLevel", "Signal", "SignalChannel", "SignalOrder", "SignalOrderStatus", "SignalStatus",
           "StrategyLog", "StrategyPerformance"]

ZERO = Decimal("0")


class SignalChannel(models.TextChoices):
    """Where a signal came in."""

    WEBHOOK = "webhook", "Strategy webhook (TradingView, Amibroker, GoCharting, JSON)"
    CHARTINK = "chartink", "ChartInk webhook"
    API = "api", "API"
    ADMIN = "admin", "Admin"


class SignalStatus(models.TextChoices):
    """accepted: queued for (or done with) the fan-out; refused: outside a window, unmapped, not allowed by
    the trading mode; duplicate: a repeated delivery, placed nothing; failed: no deployment's order went in."""

    ACCEPTED = "accepted", "Accepted"
    REFUSED = "refused", "Refused"
    DUPLICATE = "duplicate", "Duplicate"
    FAILED = "failed", "Failed"


class Signal(models.Model):
    """One delivery to a strategy's webhook, whatever became of it: the payload (secrets redacted), where
    it came from, its idempotency key, its status and why. `legs` holds what was parsed from it (one per
    symbol: exchange, symbol, intent, quantity, ...), which the fan-out task places on every active
    deployment; the outcome per deployment is a SignalOrder row (the order placed, or the error)."""

    strategy = models.ForeignKey("strategies.Strategy", on_delete=models.CASCADE, related_name="signals")
    channel = models.CharField(max_length=8, choices=SignalChannel.choices, default=SignalChannel.WEBHOOK)
    received_at = models.DateTimeField(default=timezone.now)
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    payload = models.JSONField(default=dict, blank=True, help_text="The body as received, secrets redacted.")
    # NULL, not "": the unique constraint must ignore deliveries without a key.
    idempotency_key = models.CharField(max_length=128, null=True, blank=True)  # noqa: DJ001
    body_hash = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the raw body.")
    status = models.CharField(max_length=10, choices=SignalStatus.choices)
    reason = models.TextField(blank=True)
    legs = models.JSONField(default=list, blank=True, help_text="What the signal asks for, one entry per symbol.")
    duplicate_of = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    deployments = models.PositiveIntegerField(default=0, help_text="Active deployments it was fanned out to.")
    orders_placed = models.PositiveIntegerField(default=0)
    orders_failed = models.PositiveIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True, help_text="When the fan-out finished.")

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            # A key is accepted once per strategy; its repeats are stored too, as duplicates.
            models.UniqueConstraint(fields=["strategy", "idempotency_key"], name="signal_unique_idempotency_key",
                                    condition=Q(idempotency_key__isnull=False) & ~Q(status="duplicate")),
        ]
        indexes = [
            # A strategy's recent signals (pages, strategyruns), newest first; retention by received_at.
            models.Index(fields=["strategy", "received_at"], name="signal_strategy_received"),
            models.Index(fields=["received_at"], name="signal_received"),
        ]

    def __str__(self) -> str:
        return f"signal {self.pk} of {self.strategy_id} ({self.status})"


class SignalOrderStatus(models.TextChoices):
    PLACED = "placed", "Order placed"
    SKIPPED = "skipped", "Nothing to do (already at the target position)"
    FAILED = "failed", "Failed"


class SignalOrder(models.Model):
    """What one signal leg did on one deployment: the order it placed, or why none (the error, or nothing
    to do). Unique per (signal, deployment, leg): a retried fan-out updates the row, never adds one. The
    order's client_order_id is derived from the same three ids, so the pipeline places it once."""

    signal = models.ForeignKey(Signal, on_delete=models.CASCADE, related_name="outcomes")
    deployment = models.ForeignKey("strategies.Deployment", on_delete=models.CASCADE, related_name="outcomes")
    leg = models.PositiveSmallIntegerField(default=0)
    order = models.ForeignKey("trading.Order", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                              help_text="Kept when the order is archived away: the outcome stays.")
    client_order_id = models.CharField(max_length=64)
    status = models.CharField(max_length=8, choices=SignalOrderStatus.choices)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["signal_id", "deployment_id", "leg"]
        constraints = [
            # Also the index of a signal's outcomes.
            models.UniqueConstraint(fields=["signal", "deployment", "leg"], name="signalorder_unique"),
        ]
        indexes = [
            # A deployment's signal history (strat pages, strategyorders).
            models.Index(fields=["deployment", "created_at"], name="signalorder_deployment_created"),
        ]

    def __str__(self) -> str:
        return f"{self.client_order_id}: {self.status}"


class LogLevel(models.TextChoices):
    DEBUG = "debug", "Debug"
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    ERROR = "error", "Error"


class StrategyLog(models.Model):
    """A line in a strategy's log (seed 004's trade_logs): signals, fan-out failures, risk rules firing."""

    strategy = models.ForeignKey("strategies.Strategy", on_delete=models.CASCADE, related_name="logs")
    deployment = models.ForeignKey("strategies.Deployment", on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="logs")
    signal = models.ForeignKey(Signal, on_delete=models.SET_NULL, null=True, blank=True, related_name="logs")
    level = models.CharField(max_length=8, choices=LogLevel.choices, default=LogLevel.INFO)
    message = models.CharField(max_length=500)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # A strategy's log, newest first; retention by created_at.
            models.Index(fields=["strategy", "created_at"], name="strategylog_strategy_created"),
            models.Index(fields=["created_at"], name="strategylog_created"),
        ]

    def __str__(self) -> str:
        return f"{self.level}: {self.message}"


class StrategyPerformance(models.Model):
    """A strategy's figures for one trading day (seed 004's strategy_performance), computed after the close
    from the day's trades of all its deployments."""

    strategy = models.ForeignKey("strategies.Strategy", on_delete=models.CASCADE, related_name="performance")
    date = models.DateField()
    total_trades = models.PositiveIntegerField(default=0)
    winning_trades = models.PositiveIntegerField(default=0)
    losing_trades = models.PositiveIntegerField(default=0)
    total_pnl = models.DecimalField(max_digits=16, decimal_places=2, default=ZERO)
    max_drawdown = models.DecimalField(max_digits=16, decimal_places=2, default=ZERO)
    sharpe_ratio = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    win_rate = models.DecimalField(max_digits=5, decimal_places=2, default=ZERO, help_text="Percent.")
    metrics = models.JSONField(default=dict, blank=True)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["strategy_id", "-date"]
        verbose_name_plural = "strategy performance"
        constraints = [
            # Also the index of a strategy's history by date.
            models.UniqueConstraint(fields=["strategy", "date"], name="strategyperformance_unique_day"),
            models.CheckConstraint(condition=Q(winning_trades__lte=F("total_trades") - F("losing_trades")),
                                   name="strategyperformance_wins_losses_within_total"),
            models.CheckConstraint(condition=Q(win_rate__gte=0, win_rate__lte=100),
                                   name="strategyperformance_win_rate"),
            models.CheckConstraint(condition=Q(max_drawdown__gte=0), name="strategyperformance_drawdown_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.strategy_id} {self.date}: {self.total_pnl}"
