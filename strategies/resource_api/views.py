"""Viewsets of the strategies' part of the /api/ resource API (under /api/strategies/). Thin: scoping and
errors come from core.resource_api.base, rules from strategies.services.

Who sees what: a strategy, its symbols, signals and performance are its owner's. A deployment is seen by
the user whose account it trades (a subscriber to an operator's house strategy sees their own
subscription, never another subscriber's) and by the strategy's owner; so are its risk rules, risk
events and log lines.
"""
from __future__ import annotations

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.resource_api.base import ScopedViewSet
from core.resource_api.pagination import IdCursorPagination, OrderedPageNumberPagination
from strategies.models import (
    Deployment,
    RiskEvent,
    RiskRule,
    Signal,
    Strategy,
    StrategyLog,
    StrategyPerformance,
    StrategySymbol,
)
from strategies.resource_api import filters, serializers
from strategies.services import control, exits
from strategies.services.pnl import pnl_of
from trading.models import OrderSource

CRUD = (mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin,
        mixins.DestroyModelMixin)
READ = (mixins.ListModelMixin, mixins.RetrieveModelMixin)


class AlsoTheStrategyOwners:
    """Rows scoped by `user_field` (the deployment's user), plus those of the caller's strategies
    (`owner_field`): the base scoping runs first, then this widens it by the one other rightful path."""

    owner_field = ""

    def get_queryset(self) -> QuerySet:
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):
            return queryset
        theirs = type(self).queryset.filter(**{self.owner_field: self.request.user})
        return (queryset | theirs).distinct()


class StrategyViewSet(*CRUD, ScopedViewSet):
    """The caller's strategies, with the webhook URL and a ready-to-paste TradingView alert."""

    queryset = Strategy.objects.prefetch_related("symbols").order_by("name", "id")
    serializer_class = serializers.StrategySerializer
    filterset_class = filters.StrategyFilter
    pagination_class = OrderedPageNumberPagination

    def perform_create(self, serializer: serializers.StrategySerializer) -> None:
        serializer.save(user=self.request.user)


class StrategySymbolViewSet(*CRUD, ScopedViewSet):
    """The symbol mappings of the caller's strategies."""

    queryset = StrategySymbol.objects.select_related("strategy").order_by("strategy_id", "symbol", "id")
    serializer_class = serializers.StrategySymbolSerializer
    filterset_class = filters.StrategySymbolFilter
    pagination_class = OrderedPageNumberPagination
    user_field = "strategy__user"


class DeploymentViewSet(AlsoTheStrategyOwners, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                        mixins.CreateModelMixin, mixins.UpdateModelMixin, ScopedViewSet):
    """Deployments of the caller's strategies, and the caller's subscriptions. Actions: start (or
    resume), pause, stop (or leave a subscription: no further signal reaches it; its positions stay
    until square_off), square_off (close its open positions through the order pipeline)."""

    queryset = Deployment.objects.select_related("strategy", "account", "user").prefetch_related(
        "risk_rules").order_by("-id")
    serializer_class = serializers.DeploymentSerializer
    filterset_class = filters.DeploymentFilter
    pagination_class = OrderedPageNumberPagination
    owner_field = "strategy__user"

    def perform_create(self, serializer: serializers.DeploymentSerializer) -> None:
        serializer.save(user=self.request.user)

    def get_serializer(self, *args, **kwargs) -> serializers.DeploymentSerializer:
        """Every answer carries fresh P&L: one grouped query and one price read for the rows it shows."""
        rows = args[0] if args else kwargs.get("instance")
        if rows is not None:
            many = rows if isinstance(rows, list | tuple) else [rows]
            kwargs.setdefault("context", self.get_serializer_context())["pnl"] = pnl_of([d.pk for d in many])
        return super().get_serializer(*args, **kwargs)

    def _moved(self, change) -> Response:
        deployment = change(self.get_object(), by=f" by {self.request.user.username}")
        return Response(self.get_serializer(deployment).data)

    @extend_schema(request=None, responses={200: serializers.DeploymentSerializer})
    @action(detail=True, methods=["post"])
    def start(self, request: Request, pk: str | None = None) -> Response:
        return self._moved(control.start)

    @extend_schema(request=None, responses={200: serializers.DeploymentSerializer})
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: str | None = None) -> Response:
        return self._moved(control.pause)

    @extend_schema(request=None, responses={200: serializers.DeploymentSerializer})
    @action(detail=True, methods=["post"])
    def stop(self, request: Request, pk: str | None = None) -> Response:
        return self._moved(control.stop)

    @extend_schema(request=None, responses={200: serializers.SquareOffSerializer})
    @action(detail=True, methods=["post"], url_path="square-off")
    def square_off(self, request: Request, pk: str | None = None) -> Response:
        deployment = self.get_object()
        closing = exits.close_deployment(deployment, source=OrderSource.API)
        failures = ([closing.error] if closing.error else []) + [
            f"{e.exchange}:{e.symbol}: {e.error}" for e in closing.exits if not e.ok]
        deployment.refresh_from_db()
        return Response({"deployment": self.get_serializer(deployment).data, "orders": closing.order_ids,
                         "failures": failures})


class RiskRuleViewSet(AlsoTheStrategyOwners, *CRUD, ScopedViewSet):
    """Risk rules of the deployments the caller sees: max loss, max profit, trailing stop (amount,
    percent or points). A rule fires once; the risk monitor checks them every few seconds."""

    queryset = RiskRule.objects.select_related("deployment").order_by("deployment_id", "rule_type")
    serializer_class = serializers.RiskRuleSerializer
    filterset_class = filters.RiskRuleFilter
    pagination_class = OrderedPageNumberPagination
    user_field = "deployment__user"
    owner_field = "deployment__strategy__user"


class SignalViewSet(*READ, ScopedViewSet):
    """Every delivery to the caller's strategies' webhooks, with its outcome per deployment. Read-only."""

    queryset = Signal.objects.prefetch_related("outcomes")
    serializer_class = serializers.SignalSerializer
    filterset_class = filters.SignalFilter
    pagination_class = IdCursorPagination
    filter_backends = [DjangoFilterBackend]
    user_field = "strategy__user"


class StrategyLogViewSet(AlsoTheStrategyOwners, *READ, ScopedViewSet):
    """The log of the caller's strategies, and the lines about the caller's own deployments."""

    queryset = StrategyLog.objects.all()
    serializer_class = serializers.StrategyLogSerializer
    filterset_class = filters.StrategyLogFilter
    pagination_class = IdCursorPagination
    filter_backends = [DjangoFilterBackend]
    user_field = "deployment__user"
    owner_field = "strategy__user"


class RiskEventViewSet(AlsoTheStrategyOwners, *READ, ScopedViewSet):
    queryset = RiskEvent.objects.select_related("deployment")
    serializer_class = serializers.RiskEventSerializer
    filterset_class = filters.RiskEventFilter
    pagination_class = IdCursorPagination
    filter_backends = [DjangoFilterBackend]
    user_field = "deployment__user"
    owner_field = "deployment__strategy__user"


class StrategyPerformanceViewSet(*READ, ScopedViewSet):
    """Daily figures of the caller's strategies (computed after the close)."""

    queryset = StrategyPerformance.objects.order_by("-date", "strategy_id")
    serializer_class = serializers.StrategyPerformanceSerializer
    filterset_class = filters.StrategyPerformanceFilter
    pagination_class = OrderedPageNumberPagination
    user_field = "strategy__user"
