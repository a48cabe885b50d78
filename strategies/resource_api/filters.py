"""django-filter filtersets of the strategies' resource API: `<fk>_id` and a human key for each relation.
They only narrow querysets the viewsets have already scoped to the caller."""
from __future__ import annotations

import django_filters as filters

from brokers.models import Exchange
from strategies.models import (
    Deployment,
    DeploymentMode,
    DeploymentStatus,
    LogLevel,
    Platform,
    RiskAction,
    RiskEvent,
    RiskRule,
    RiskRuleType,
    Signal,
    SignalChannel,
    SignalStatus,
    Strategy,
    StrategyLog,
    StrategyPerformance,
    StrategySymbol,
    TradingMode,
)
from trading.resource_api.filters import DayFilter, IdFilter, UpperCharFilter, UtcDateTimeFilter


class StrategyFilter(filters.FilterSet):
    name = filters.CharFilter(lookup_expr="icontains")
    platform = filters.ChoiceFilter(choices=Platform.choices)
    trading_mode = filters.ChoiceFilter(choices=TradingMode.choices)
    exchange = filters.ChoiceFilter(choices=Exchange.choices)

    class Meta:
        model = Strategy
        fields = ["name", "platform", "trading_mode", "exchange", "is_active", "is_intraday", "is_house"]


class ByStrategy(filters.FilterSet):
    strategy_id = IdFilter(field_name="strategy_id")
    strategy = filters.CharFilter(field_name="strategy__name", label="The strategy's name")


class StrategySymbolFilter(ByStrategy):
    exchange = filters.ChoiceFilter(choices=Exchange.choices)
    symbol = UpperCharFilter(field_name="symbol")

    class Meta:
        model = StrategySymbol
        fields = ["strategy_id", "strategy", "exchange", "symbol"]


class DeploymentFilter(ByStrategy):
    status = filters.MultipleChoiceFilter(choices=DeploymentStatus.choices)
    mode = filters.ChoiceFilter(choices=DeploymentMode.choices)
    account_id = IdFilter(field_name="account_id")
    account = filters.CharFilter(field_name="account__name", label="The trading account's name")

    class Meta:
        model = Deployment
        fields = ["strategy_id", "strategy", "status", "mode", "account_id", "account"]


class RiskRuleFilter(filters.FilterSet):
    deployment_id = IdFilter(field_name="deployment_id")
    rule_type = filters.ChoiceFilter(choices=RiskRuleType.choices)
    fired = filters.BooleanFilter(field_name="fired_at", lookup_expr="isnull", exclude=True)

    class Meta:
        model = RiskRule
        fields = ["deployment_id", "rule_type", "is_active", "fired"]


class SignalFilter(ByStrategy):
    status = filters.MultipleChoiceFilter(choices=SignalStatus.choices)
    channel = filters.ChoiceFilter(choices=SignalChannel.choices)
    date = DayFilter(field_name="received_at")
    received_after = UtcDateTimeFilter(field_name="received_at", lookup_expr="gte")
    received_before = UtcDateTimeFilter(field_name="received_at", lookup_expr="lt")

    class Meta:
        model = Signal
        fields = ["strategy_id", "strategy", "status", "channel", "date", "received_after", "received_before"]


class StrategyLogFilter(ByStrategy):
    deployment_id = IdFilter(field_name="deployment_id")
    level = filters.MultipleChoiceFilter(choices=LogLevel.choices)
    date = DayFilter(field_name="created_at")

    class Meta:
        model = StrategyLog
        fields = ["strategy_id", "strategy", "deployment_id", "level", "date"]


class RiskEventFilter(filters.FilterSet):
    deployment_id = IdFilter(field_name="deployment_id")
    strategy_id = IdFilter(field_name="deployment__strategy_id")
    rule_type = filters.ChoiceFilter(choices=RiskRuleType.choices)
    action = filters.ChoiceFilter(choices=RiskAction.choices)
    date = DayFilter(field_name="created_at")

    class Meta:
        model = RiskEvent
        fields = ["deployment_id", "strategy_id", "rule_type", "action", "date"]


class StrategyPerformanceFilter(ByStrategy):
    date_after = filters.DateFilter(field_name="date", lookup_expr="gte")
    date_before = filters.DateFilter(field_name="date", lookup_expr="lte")

    class Meta:
        model = StrategyPerformance
        fields = ["strategy_id", "strategy", "date", "date_after", "date_before"]
