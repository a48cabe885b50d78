"""/api/v1/ account endpoints: funds, the books, margin, analyzer mode and ping.

Every book is read through the user's adapter (the sandbox in analyze mode), so what a client sees is
what its broker holds. Shapes and number formats are OpenAlgo's (see shapes.py).
"""
from __future__ import annotations

from typing import Any

from django.urls import re_path
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Capability
from accounts.services.usersettings import is_analyze_mode, set_analyze_mode
from trading.models import Order
from trading.openalgo_api import shapes
from trading.openalgo_api.base import OpenAlgoView
from trading.openalgo_api.margin import MarginView
from trading.openalgo_api.readbase import BrokerReadView


class FundsView(BrokerReadView):
    serializer_class = shapes.AccountRequest

    def handle(self, request: Request, data: dict[str, Any]) -> Response:
        funds = self.call(self.adapter(request, data).funds)
        return self.success(request, data=shapes.funds_dict(funds))


class OrderbookView(BrokerReadView):
    serializer_class = shapes.AccountRequest

    def handle(self, request: Request, data: dict[str, Any]) -> Response:
        orders = self.call(self.adapter(request, data).order_book)
        return self.success(request, data={
            "orders": [shapes.order_dict(o) for o in orders],
            "statistics": shapes.order_statistics(orders),
        })


class TradebookView(BrokerReadView):
    serializer_class = shapes.AccountRequest

    def handle(self, request: Request, data: dict[str, Any]) -> Response:
        trades = self.call(self.adapter(request, data).trade_book)
        return self.success(request, data=[shapes.trade_dict(t) for t in trades])


class PositionbookView(BrokerReadView):
    serializer_class = shapes.AccountRequest

    def handle(self, request: Request, data: dict[str, Any]) -> Response:
        positions = self.call(self.adapter(request, data).positions)
        return self.success(request, data=[shapes.position_dict(p) for p in positions])


class HoldingsView(BrokerReadView):
    serializer_class = shapes.AccountRequest

    def handle(self, request: Request, data: dict[str, Any]) -> Response:
        holdings = self.call(self.adapter(request, data).holdings)
        return self.success(request, data={
            "holdings": [shapes.holding_dict(h) for h in holdings],
            "statistics": shapes.holding_statistics(holdings),
        })


def analyzer_state(user_id: int) -> dict[str, Any]:
    """OpenAlgo's analyzer status. Its `total_logs` counts requests logged in analyze mode; AlgoDesk
    records every sandbox order as an Order row, so the count is the user's analyze-mode orders."""
    on = is_analyze_mode(user_id)
    return {
        "mode": "analyze" if on else "live",
        "analyze_mode": on,
        "total_logs": Order.objects.filter(user_id=user_id, is_analyze=True).count(),
    }


class AnalyzerView(OpenAlgoView):
    def handle(self, request: Request, data: dict[str, Any]) -> Response:
        return self.success(request, data=analyzer_state(request.user.pk))


class AnalyzerToggleRequest(serializers.Serializer):
    mode = serializers.BooleanField()


class AnalyzerToggleView(OpenAlgoView):
    """Analyze mode is per user. Semi-auto keys may not switch it (OpenAlgo answers them 403)."""

    serializer_class = AnalyzerToggleRequest
    capability = Capability.MANAGE

    def handle(self, request: Request, data: dict[str, Any]) -> Response:
        on = data["mode"]
        set_analyze_mode(request.user, on, request=request._request)
        state = analyzer_state(request.user.pk)
        # Read back rather than trust the request: the answer is the mode now in force.
        state["message"] = f"Analyzer mode switched to {state['mode']}"
        return self.success(request, data=state)


class PingView(BrokerReadView):
    serializer_class = shapes.AccountRequest

    def handle(self, request: Request, data: dict[str, Any]) -> Response:
        broker = self.call(self.adapter(request, data).ping)
        return self.success(request, data={"message": "pong", "broker": broker})


urlpatterns = [
    re_path(r"^funds/?$", FundsView.as_view(), name="funds"),
    re_path(r"^orderbook/?$", OrderbookView.as_view(), name="orderbook"),
    re_path(r"^tradebook/?$", TradebookView.as_view(), name="tradebook"),
    re_path(r"^positionbook/?$", PositionbookView.as_view(), name="positionbook"),
    re_path(r"^holdings/?$", HoldingsView.as_view(), name="holdings"),
    re_path(r"^margin/?$", MarginView.as_view(), name="margin"),
    re_path(r"^analyzer/?$", AnalyzerView.as_view(), name="analyzer"),
    re_path(r"^analyzer/toggle/?$", AnalyzerToggleView.as_view(), name="analyzer_toggle"),
    re_path(r"^ping/?$", PingView.as_view(), name="ping"),
]
