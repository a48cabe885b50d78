"""/api/calendar/: an exchange's market status now, and a year's holidays (from trading.services.calendar)."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from brokers.models import Exchange
from core.resource_api.base import ResourceApiMixin
from trading.services import calendar

IST = ZoneInfo("Asia/Kolkata")


class StatusQuery(serializers.Serializer):
    exchange = serializers.ChoiceField(choices=Exchange.choices)


class MarketStatusSerializer(serializers.Serializer):
    exchange = serializers.CharField()
    state = serializers.ChoiceField(choices=calendar.MarketState.choices)
    is_open = serializers.BooleanField()
    reason = serializers.CharField()
    opens_at = serializers.DateTimeField(allow_null=True, help_text="Start of the current or next session.")
    closes_at = serializers.DateTimeField(allow_null=True, help_text="End of the current or next session.")


class HolidaysQuery(serializers.Serializer):
    year = serializers.IntegerField(required=False, min_value=2000, max_value=2100)


class OpenWindowSerializer(serializers.Serializer):
    exchange = serializers.CharField()
    start_time = serializers.DateTimeField()
    end_time = serializers.DateTimeField()


class HolidaySerializer(serializers.Serializer):
    date = serializers.DateField()
    description = serializers.CharField()
    holiday_type = serializers.CharField()
    closed_exchanges = serializers.ListField(child=serializers.CharField())
    open_exchanges = OpenWindowSerializer(many=True)


class CalendarViewSet(ResourceApiMixin, viewsets.ViewSet):
    """The market calendar is the same for every user; it needs authentication, not scoping."""

    @extend_schema(parameters=[StatusQuery], responses={200: MarketStatusSerializer})
    @action(detail=False, methods=["get"])
    def status(self, request: Request) -> Response:
        query = StatusQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        try:
            found = calendar.market_status(query.validated_data["exchange"])
        except ValueError as exc:  # no active trading-hours template lists the exchange
            raise serializers.ValidationError({"exchange": [str(exc)]}) from exc
        return Response(MarketStatusSerializer({
            "exchange": found.exchange, "state": found.state, "is_open": found.is_open, "reason": found.reason,
            "opens_at": found.opens_at, "closes_at": found.closes_at,
        }).data)

    @extend_schema(parameters=[HolidaysQuery], responses={200: HolidaySerializer(many=True)})
    @action(detail=False, methods=["get"])
    def holidays(self, request: Request) -> Response:
        query = HolidaysQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        year = query.validated_data.get("year") or dt.datetime.now(IST).year
        return Response(HolidaySerializer(calendar.holidays(year), many=True).data)
