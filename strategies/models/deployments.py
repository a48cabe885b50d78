"""Deployments of a strategy to trading accounts (or a user's sandbox), their risk rules and events."""
from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from trading.models import UserScopedQuerySet

__all__ = ["Deployment", "DeploymentMode", "DeploymentStatus", "RiskAction", "RiskEvent", "RiskRule",
           "RiskRuleType", "TrailUnit"]

ZERO = Decimal("0")


def _money(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=16, decimal_places=2, default=ZERO, **kwargs)


class DeploymentMode(models.TextChoices):
    """Where a deployment's orders go: a live trading account, or its owner's paper-trading sandbox."""

    LIVE = "live", "Live account"
    SANDBOX = "sandbox", "Sandbox"


class DeploymentStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    STOPPED = "stopped", "Stopped"


class DeploymentQuerySet(UserScopedQuerySet):
    def active(self) -> DeploymentQuerySet:
        return self.filter(status=DeploymentStatus.ACTIVE)


class Deployment(models.Model):
    """A strategy running on one trading account (mode live) or on a user's sandbox (mode sandbox).

    `user` is the owner of the account, whose books the orders are in: usually the strategy's owner;
    for a house strategy (an operator's), any subscribed user. Each order goes through that user's risk
    limits and analyze mode (a user in analyze mode trades in the sandbox whatever the deployment says).
    The owner sees the subscription and may pause or leave it; never the other subscribers.
    """

    strategy = models.ForeignKey("strategies.Strategy", on_delete=models.CASCADE, related_name="deployments")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="deployments",
                             help_text="The account's owner: the orders are theirs.")
    mode = models.CharField(max_length=8, choices=DeploymentMode.choices, default=DeploymentMode.SANDBOX)
    account = models.ForeignKey("brokers.TradingAccount", on_delete=models.CASCADE, null=True, blank=True,
                                related_name="deployments", help_text="The live account; empty for the sandbox.")
    quantity_multiplier = models.DecimalField(max_digits=10, decimal_places=4, default=Decimal("1"),
                                              help_text="Each mapped quantity (and position_size) times this.")
    capital_allocated = _money()
    max_open_positions = models.PositiveIntegerField(default=0, help_text="0 = no limit.")
    status = models.CharField(max_length=8, choices=DeploymentStatus.choices, default=DeploymentStatus.ACTIVE)
    started_at = models.DateTimeField(default=timezone.now)
    stopped_at = models.DateTimeField(null=True, blank=True)
    realized_pnl = _money()
    unrealized_pnl = _money()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = DeploymentQuerySet.as_manager()

    class Meta:
        ordering = ["strategy_id", "user_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(mode="live", account__isnull=False) | Q(mode="sandbox", account__isnull=True)),
                name="deployment_live_has_account"),
            # One deployment per account, and one per user's sandbox (NULL accounts are never equal in SQL).
            models.UniqueConstraint(fields=["strategy", "account"], condition=Q(account__isnull=False),
                                    name="deployment_unique_account"),
            models.UniqueConstraint(fields=["strategy", "user"], condition=Q(account__isnull=True),
                                    name="deployment_unique_sandbox"),
            models.CheckConstraint(condition=Q(quantity_multiplier__gt=ZERO), name="deployment_multiplier_gt_0"),
            models.CheckConstraint(condition=Q(capital_allocated__gte=ZERO), name="deployment_capital_gte_0"),
        ]
        indexes = [
            # The fan-out: a strategy's active deployments, on every signal (a partial index: only active rows).
            models.Index(fields=["strategy"], name="deployment_active_by_strategy", condition=Q(status="active")),
            # A user's own deployments (their subscriptions to house strategies included).
            models.Index(fields=["user", "status"], name="deployment_user_status"),
        ]

    def __str__(self) -> str:
        where = self.account.name if self.account_id else "sandbox"
        return f"{self.strategy} on {where} ({self.status})"

    @property
    def total_pnl(self) -> Decimal:
        return self.realized_pnl + self.unrealized_pnl

    def clean(self) -> None:
        super().clean()
        errors = {}
        if self.mode == DeploymentMode.LIVE and not self.account_id:
            errors["account"] = "A live deployment needs a trading account."
        if self.mode == DeploymentMode.SANDBOX and self.account_id:
            errors["account"] = "A sandbox deployment has no trading account (it trades in the user's sandbox)."
        if self.account_id and self.user_id and self.account.user_id != self.user_id:
            errors["user"] = "Must be the trading account's owner."
        if self.strategy_id and self.user_id and self.user_id != self.strategy.user_id and not self.strategy.is_house:
            errors["strategy"] = "Only a house strategy can be deployed to another user's accounts."
        if errors:
            raise ValidationError(errors)


class RiskRuleType(models.TextChoices):
    MAX_LOSS = "max_loss", "Max loss"
    MAX_PROFIT = "max_profit", "Max profit (target)"
    TRAILING_STOP = "trailing_stop", "Trailing stop"


class TrailUnit(models.TextChoices):
    """How a threshold is measured: an amount of P&L, percent of the best P&L reached, or price points."""

    AMOUNT = "amount", "Amount"
    PERCENT = "percent", "Percent"
    POINTS = "points", "Points"


class RiskRule(models.Model):
    """A P&L rule on one deployment. When it fires, the deployment's positions are closed through the
    pipeline, the deployment is paused, and a RiskEvent records it; `fired_at` makes it fire once."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="risk_rules")
    rule_type = models.CharField(max_length=16, choices=RiskRuleType.choices)
    threshold = models.DecimalField(max_digits=16, decimal_places=4)
    unit = models.CharField(max_length=8, choices=TrailUnit.choices, default=TrailUnit.AMOUNT)
    is_active = models.BooleanField(default=True)
    peak_pnl = _money(help_text="The best P&L reached since the rule was armed (trailing stops trail it).")
    fired_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["deployment_id", "rule_type"]
        constraints = [
            models.UniqueConstraint(fields=["deployment", "rule_type"], name="riskrule_one_per_type"),
            models.CheckConstraint(condition=Q(threshold__gt=ZERO), name="riskrule_threshold_gt_0"),
            # Percent and points trail; max loss and max profit are amounts of P&L.
            models.CheckConstraint(condition=Q(rule_type="trailing_stop") | Q(unit="amount"),
                                   name="riskrule_unit_only_for_trailing"),
        ]
        indexes = [
            # The risk monitor's sweep: armed rules only (a partial index), in deployment order.
            models.Index(fields=["deployment"], name="riskrule_armed",
                         condition=Q(is_active=True, fired_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.get_rule_type_display()} {self.threshold.normalize():f} {self.unit}"


class RiskAction(models.TextChoices):
    CLOSED_AND_PAUSED = "closed_and_paused", "Positions closed, deployment paused"
    PAUSED = "paused", "Deployment paused (nothing to close)"
    FAILED = "failed", "Closing failed"


class RiskEvent(models.Model):
    """A risk rule that fired: what it watched, the threshold, the value seen, what was done and the
    orders placed (their ids: trading's orders are not referenced by key, so no migration cycle)."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="risk_events")
    rule = models.ForeignKey(RiskRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="events")
    rule_type = models.CharField(max_length=16, choices=RiskRuleType.choices)
    threshold = models.DecimalField(max_digits=16, decimal_places=4)
    value_seen = models.DecimalField(max_digits=16, decimal_places=4)
    action = models.CharField(max_length=20, choices=RiskAction.choices)
    order_ids = models.JSONField(default=list, blank=True, help_text="Ids of the orders placed to close.")
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # A deployment's (and, joined, a strategy's) risk events, newest first.
            models.Index(fields=["deployment", "created_at"], name="riskevent_deployment_created"),
        ]

    def __str__(self) -> str:
        return f"{self.get_rule_type_display()} fired at {self.value_seen.normalize():f}"
