"""Viewsets of the /api/ resource API. Thin: scoping, errors and throttling live in base.py; business
rules live in the services they call (brokers.services.accounts, trading.services.*)."""
from __future__ import annotations

from typing import Any

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Capability
from core.resource_api.base import ScopedViewSet
from core.resource_api.pagination import IdCursorPagination, OrderedPageNumberPagination
from trading.models import Holding, Order, OrderSource, PendingApiType, PendingOrder, Position, Trade
from trading.resource_api import filters, serializers
from trading.services import pending as action_center
from trading.services import pipeline
from trading.services.errors import ErrorKind, TradingError
from trading.services.validation import parse_order


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
        incoming = serializers.OrderCreateSerializer(data=request.data, context=self.get_serializer_context())
        incoming.is_valid(raise_exception=True)
        payload = openalgo_payload(incoming.validated_data)
        key = request.auth
        api_key_id = getattr(key, "key_id", None)
        if getattr(key, "semi_auto", False):
            queued = action_center.queue(request.user, PendingApiType.PLACE, payload, api_key_id=api_key_id)
            return Response(serializers.PendingOrderSerializer(queued).data, status=status.HTTP_202_ACCEPTED)
        order = pipeline.place(request.user, parse_order(payload), source=OrderSource.API, api_key_id=api_key_id)
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


def openalgo_payload(data: dict[str, Any]) -> dict[str, Any]:
    """The create request in OpenAlgo's field names, so the pipeline validates it as /api/v1/ would."""
    payload = {
        "strategy": data["strategy"], "exchange": data["exchange"], "symbol": data["symbol"].upper(),
        "action": data["action"], "quantity": str(data["quantity"]), "pricetype": data["price_type"],
        "product": data["product"], "price": str(data["price"]), "trigger_price": str(data["trigger_price"]),
        "disclosed_quantity": str(data["disclosed_quantity"]),
    }
    if data.get("client_order_id"):
        payload["client_order_id"] = data["client_order_id"]
    if data.get("account_id") is not None:
        payload["account"] = data["account_id"].name
    return payload


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
