"""Serializers of the strategies' part of the /api/ resource API. Decimals travel as strings; the
webhook secret is write-only; a related row can only be one the caller may reach."""
from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q, QuerySet
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from brokers.models import TradingAccount
from strategies.models import (
    Deployment,
    DeploymentMode,
    RiskEvent,
    RiskRule,
    Signal,
    SignalOrder,
    Strategy,
    StrategyLog,
    StrategyPerformance,
    StrategySymbol,
)
from strategies.services import alerts


def visible_deployments(user) -> QuerySet:
    """The deployments a user may reach: those trading their accounts, and those of their strategies."""
    return Deployment.objects.filter(Q(user=user) | Q(strategy__user=user))


class OwnStrategyField(serializers.PrimaryKeyRelatedField):
    """A strategy of the caller's: another user's id is refused as if it did not exist."""

    def get_queryset(self):
        return Strategy.objects.filter(user=self.context["request"].user)


class OwnAccountField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return TradingAccount.objects.filter(user=self.context["request"].user)


class UniqueInValidate:
    """The model's (partial) unique constraints are checked in validate(), with a message naming the field,
    instead of DRF's generated validator (which makes every field of the constraint required)."""

    def get_validators(self) -> list:
        return []


def model_clean(instance: Any, attrs: dict[str, Any]) -> None:
    """Run the model's clean() on the instance as it would be saved; its errors become field errors."""
    for key, value in attrs.items():
        setattr(instance, key, value)
    try:
        instance.clean()
    except DjangoValidationError as exc:
        raise serializers.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages) from exc


class StrategySymbolSerializer(UniqueInValidate, serializers.ModelSerializer):
    strategy = OwnStrategyField()

    class Meta:
        model = StrategySymbol
        fields = ["id", "strategy", "exchange", "symbol", "quantity", "product", "price_type", "created_at"]
        read_only_fields = ["created_at"]

    def validate_symbol(self, value: str) -> str:
        return value.strip().upper()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        strategy = attrs.get("strategy") or self.instance.strategy
        exchange = attrs.get("exchange") or self.instance.exchange
        symbol = attrs.get("symbol") or self.instance.symbol
        taken = StrategySymbol.objects.filter(strategy=strategy, exchange=exchange, symbol=symbol)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise serializers.ValidationError({"symbol": f"{exchange}:{symbol} is already mapped in this strategy."})
        return attrs


class StrategySerializer(serializers.ModelSerializer):
    webhook_secret = serializers.CharField(write_only=True, required=False, allow_null=True, allow_blank=True,
                                           min_length=16, max_length=200,
                                           help_text="Write-only; null or \"\" removes it.")
    has_secret = serializers.BooleanField(read_only=True)
    webhook_url = serializers.SerializerMethodField()
    tradingview_alert = serializers.SerializerMethodField()
    symbols = StrategySymbolSerializer(many=True, read_only=True)

    class Meta:
        model = Strategy
        fields = ["id", "name", "description", "platform", "webhook_id", "webhook_url", "tradingview_alert",
                  "webhook_secret", "has_secret", "is_active", "is_house", "is_intraday", "trading_mode", "exchange",
                  "start_time", "end_time", "squareoff_time", "trading_days", "parameters", "status", "last_run_at",
                  "error_message", "symbols", "created_at", "updated_at"]
        read_only_fields = ["webhook_id", "status", "last_run_at", "error_message", "created_at", "updated_at"]

    def get_webhook_url(self, strategy: Strategy) -> str:
        request = self.context.get("request")
        path = alerts.webhook_path(strategy)
        return request.build_absolute_uri(path) if request else path

    def get_tradingview_alert(self, strategy: Strategy) -> str:
        return alerts.tradingview_alert(strategy)

    def validate_name(self, value: str) -> str:
        value = value.strip()
        taken = Strategy.objects.filter(user=self.context["request"].user, name=value)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise serializers.ValidationError(f"you already have a strategy named {value!r}.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance = self.instance or Strategy(user=self.context["request"].user)
        model_clean(instance, {k: v for k, v in attrs.items() if k != "webhook_secret"})
        if "webhook_secret" in attrs and not attrs["webhook_secret"]:
            attrs["webhook_secret"] = None
        return attrs


class RiskRuleSerializer(UniqueInValidate, serializers.ModelSerializer):
    deployment = serializers.PrimaryKeyRelatedField(queryset=Deployment.objects.none())

    class Meta:
        model = RiskRule
        fields = ["id", "deployment", "rule_type", "threshold", "unit", "is_active", "peak_pnl", "fired_at",
                  "created_at"]
        read_only_fields = ["peak_pnl", "fired_at", "created_at"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and not getattr(self.context.get("view"), "swagger_fake_view", False):
            self.fields["deployment"].queryset = visible_deployments(request.user)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        rule_type = attrs.get("rule_type") or self.instance.rule_type
        unit = attrs.get("unit") or getattr(self.instance, "unit", "amount")
        if rule_type != "trailing_stop" and unit != "amount":
            raise serializers.ValidationError({"unit": "max_loss and max_profit are amounts of P&L: use amount."})
        deployment = attrs.get("deployment") or self.instance.deployment
        taken = RiskRule.objects.filter(deployment=deployment, rule_type=rule_type)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise serializers.ValidationError({"rule_type": f"this deployment already has a {rule_type} rule."})
        if attrs.get("threshold") is not None and attrs["threshold"] <= 0:
            raise serializers.ValidationError({"threshold": "must be positive."})
        return attrs


class DeploymentSerializer(UniqueInValidate, serializers.ModelSerializer):
    """The caller's deployments and subscriptions. `strategy` and `account` are set on creation only
    (no account: the caller's sandbox); a subscription (`is_subscription`) is to another user's house
    strategy: its owner sees no other subscriber."""

    strategy = OwnStrategyField()
    account = OwnAccountField(required=False, allow_null=True)
    strategy_name = serializers.CharField(source="strategy.name", read_only=True)
    account_name = serializers.CharField(source="account.name", read_only=True, default=None)
    user = serializers.CharField(source="user.username", read_only=True)
    is_subscription = serializers.SerializerMethodField()
    realized_pnl = serializers.SerializerMethodField()
    unrealized_pnl = serializers.SerializerMethodField(help_text="null when an open position has no price.")
    total_pnl = serializers.SerializerMethodField(help_text="null when an open position has no price.")
    risk_rules = RiskRuleSerializer(many=True, read_only=True)

    class Meta:
        model = Deployment
        fields = ["id", "strategy", "strategy_name", "user", "is_subscription", "mode", "account", "account_name",
                  "quantity_multiplier", "capital_allocated", "max_open_positions", "status", "started_at",
                  "stopped_at", "realized_pnl", "unrealized_pnl", "total_pnl", "risk_rules", "created_at"]
        read_only_fields = ["mode", "status", "started_at", "stopped_at", "created_at"]

    def _pnl(self, deployment: Deployment):
        """Fresh figures from the view (strategies.services.pnl, one query for the page), else the ones the
        risk monitor last stored."""
        return self.context.get("pnl", {}).get(deployment.pk)

    @extend_schema_field(serializers.DecimalField(max_digits=16, decimal_places=2))
    def get_realized_pnl(self, deployment: Deployment) -> str:
        figures = self._pnl(deployment)
        return str(figures.realized if figures else deployment.realized_pnl)

    @extend_schema_field(serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True))
    def get_unrealized_pnl(self, deployment: Deployment) -> str | None:
        figures = self._pnl(deployment)
        value = figures.unrealized if figures else deployment.unrealized_pnl
        return None if value is None else str(value)

    @extend_schema_field(serializers.DecimalField(max_digits=17, decimal_places=2, allow_null=True))
    def get_total_pnl(self, deployment: Deployment) -> str | None:
        figures = self._pnl(deployment)
        value = figures.total if figures else deployment.total_pnl
        return None if value is None else str(value)

    def get_is_subscription(self, deployment: Deployment) -> bool:
        return deployment.user_id != deployment.strategy.user_id

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is None:
            strategy, account = attrs["strategy"], attrs.get("account")
            taken = Deployment.objects.filter(strategy=strategy)
            taken = taken.filter(account=account) if account else taken.filter(user=self.context["request"].user,
                                                                                account__isnull=True)
            if taken.exists():
                where = f"account {account.name!r}" if account else "your sandbox"
                raise serializers.ValidationError({"account": f"the strategy is already deployed to {where}."})
            attrs["mode"] = DeploymentMode.LIVE if account else DeploymentMode.SANDBOX
        else:
            for name in ("strategy", "account"):
                if name in attrs and attrs.pop(name) != getattr(self.instance, name):
                    raise serializers.ValidationError({name: "is set when deploying; deploy again to change it."})
        if attrs.get("quantity_multiplier") is not None and attrs["quantity_multiplier"] <= 0:
            raise serializers.ValidationError({"quantity_multiplier": "must be positive."})
        if attrs.get("capital_allocated") is not None and attrs["capital_allocated"] < 0:
            raise serializers.ValidationError({"capital_allocated": "must not be negative."})
        return attrs


class SignalOrderSerializer(serializers.ModelSerializer):
    class Meta:
        model = SignalOrder
        fields = ["deployment", "leg", "order", "client_order_id", "status", "message"]


class SignalSerializer(serializers.ModelSerializer):
    outcomes = SignalOrderSerializer(many=True, read_only=True)

    class Meta:
        model = Signal
        fields = ["id", "strategy", "channel", "received_at", "source_ip", "payload", "idempotency_key", "status",
                  "reason", "legs", "duplicate_of", "deployments", "orders_placed", "orders_failed", "processed_at",
                  "outcomes"]


class StrategyLogSerializer(serializers.ModelSerializer):
    class Meta:
        model = StrategyLog
        fields = ["id", "strategy", "deployment", "signal", "level", "message", "data", "created_at"]


class RiskEventSerializer(serializers.ModelSerializer):
    strategy = serializers.IntegerField(source="deployment.strategy_id", read_only=True)

    class Meta:
        model = RiskEvent
        fields = ["id", "deployment", "strategy", "rule", "rule_type", "threshold", "value_seen", "action",
                  "order_ids", "message", "created_at"]


class StrategyPerformanceSerializer(serializers.ModelSerializer):
    class Meta:
        model = StrategyPerformance
        fields = ["id", "strategy", "date", "total_trades", "winning_trades", "losing_trades", "total_pnl",
                  "max_drawdown", "sharpe_ratio", "win_rate", "metrics", "computed_at"]


class SquareOffSerializer(serializers.Serializer):
    deployment = DeploymentSerializer(read_only=True)
    orders = serializers.ListField(child=serializers.IntegerField(), read_only=True)
    failures = serializers.ListField(child=serializers.CharField(), read_only=True)
