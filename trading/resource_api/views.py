"""Viewsets of the /api/ resource API. Thin: scoping, errors and throttling live in base.py; business
rules live in the services they call (brokers.services.accounts, trading.services.*)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Capability
from brokers.adapters.base import OrderSpec
from brokers.models import TradingAccount
from core.resource_api.base import ScopedViewSet
from core.resource_api.pagination import IdCursorPagination, OrderedPageNumberPagination
from trading.models import Holding, Order, OrderSource, PendingApiType, PendingOrder, Position, Trade
from trading.resource_api import filters, serializers
from trading.services import pending as action_center
from trading.services import pipeline, validation
from trading.services.errors import ErrorKind, InvalidOrder, TradingError


class Conflict(TradingError):
    kind = ErrorKind.CONFLICT


class OrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Orders of every route (live and sandbox), newest first. Creating one runs the order pipeline."""

    queryset = Order.objects.all()
    serializer_class = serializers.OrderSerializer
    filterset_class = filters.OrderFilter
    pagination_class = IdCursorPagination
    filter_backends = [DjangoFilterBackend]
    action_capabilities = {"create": Capability.PLACE, "cancel": Capability.MANAGE}

    @extend_schema(request=serializers.OrderCreateSerializer, responses={
        201: serializers.OrderSerializer,
        202: OpenApiResponse(serializers.PendingOrderSerializer, description="Queued for approval (semi-auto key)"),
    })
    def create(self, request: Request) -> Response:
        spec = parse_resource_order(request.user, request.data)
        key = request.auth
        api_key_id = getattr(key, "key_id", None)
        if getattr(key, "semi_auto", False):
            queued = action_center.queue(request.user, PendingApiType.PLACE, spec.payload(), api_key_id=api_key_id)
            return Response(serializers.PendingOrderSerializer(queued).data, status=status.HTTP_202_ACCEPTED)
        order = pipeline.place(request.user, spec, source=OrderSource.API, api_key_id=api_key_id)
        return Response(self.get_serializer(order).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: serializers.OrderSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        order = self.get_object()
        if not order.is_open or not order.broker_order_id:
            raise Conflict(f"Order {order.pk} is {order.get_status_display().lower()} and cannot be cancelled.")
        pipeline.cancel(request.user, order.broker_order_id)
        order.refresh_from_db()
        return Response(self.get_serializer(order).data)


#: The resource API's own names for OpenAlgo's order fields (the parser reads and names them so).
RESOURCE_NAMES = {"pricetype": "price_type"}


def parse_resource_order(user: Any, data: Any) -> OrderSpec:
    """The create request, parsed by the one order parser in the resource API's field names (never
    turned into strings and parsed again). `account_id` picks one of the user's active accounts;
    `strategy` defaults to "api"."""
    if not isinstance(data, Mapping):
        raise InvalidOrder("body: must be a JSON object.")
    strategy = validation.text(data, "strategy", required=False, default="api", max_length=100)
    given = data.get("account_id") not in (None, "")
    account_id = validation.integer(data, "account_id", minimum=1, maximum=2**63 - 1) if given else None
    spec = validation.parse_order(data, strategy=strategy, names=RESOURCE_NAMES)
    if account_id is None:
        return spec
    account = TradingAccount.objects.for_user(user).active().filter(pk=account_id).first()
    if account is None:  # another user's account is as unknown as a missing one
        raise InvalidOrder("account_id: no such active trading account.")
    return replace(spec, account_name=account.name)


class TradeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    queryset = Trade.objects.all()
    serializer_class = serializers.TradeSerializer
    filterset_class = filters.TradeFilter
    pagination_class = IdCursorPagination
    filter_backends = [DjangoFilterBackend]


class PositionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    queryset = Position.objects.order_by("exchange", "symbol", "product", "id")
    serializer_class = serializers.PositionSerializer
    filterset_class = filters.PositionFilter
    pagination_class = OrderedPageNumberPagination
    ordering_fields = ["symbol", "updated_at", "unrealized_pnl", "realized_pnl"]


class HoldingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    queryset = Holding.objects.order_by("exchange", "symbol", "id")
    serializer_class = serializers.HoldingSerializer
    filterset_class = filters.HoldingFilter
    pagination_class = OrderedPageNumberPagination
    ordering_fields = ["symbol", "pnl", "updated_at"]


class PendingOrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """The action center: requests from semi-auto keys. Approving places the request exactly once.

    Deciding is a person's act (DECIDE): a session verified by a second factor, never an API key."""

    queryset = PendingOrder.objects.select_related("decided_by")
    serializer_class = serializers.PendingOrderSerializer
    filterset_class = filters.PendingOrderFilter
    pagination_class = IdCursorPagination
    filter_backends = [DjangoFilterBackend]
    action_capabilities = {"approve": Capability.DECIDE, "reject": Capability.DECIDE}

    def _undecided(self) -> PendingOrder:
        pending = self.get_object()
        if not pending.is_pending:
            raise Conflict(f"Pending order {pending.pk} was already {pending.status}.")
        return pending

    @extend_schema(request=None, responses={200: serializers.PendingOrderSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        decided = action_center.approve_pending(self._undecided(), request.user)
        return Response(self.get_serializer(decided).data)

    @extend_schema(request=serializers.PendingDecisionSerializer, responses={200: serializers.PendingOrderSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        body = serializers.PendingDecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        decided = action_center.reject_pending(self._undecided(), request.user, body.validated_data["reason"])
        return Response(self.get_serializer(decided).data)
