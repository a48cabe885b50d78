"""/api/analytics/latency/: percentiles and SLA shares of the order path's latency.

A trader sees the figures of their own orders; an operator (a staff user) sees everyone's and may
narrow them to one user. The range is [from, to) of placement times, aware (with a UTC offset);
grouping by day uses trading days (IST calendar days).
"""
from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from analytics.api import params
from analytics.services import latency, rollup
from brokers.adapters.registry import broker_names
from core.resource_api.base import ResourceApiMixin

DEFAULT_RANGE = dt.timedelta(days=7)
MAX_RANGE = dt.timedelta(days=366)


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 time that says its UTC offset: a naive one would be read in some server's zone."""

    def to_internal_value(self, value: str) -> dt.datetime:
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is not None and timezone.is_naive(parsed):
            raise serializers.ValidationError("must carry a UTC offset (e.g. 2026-12-01T09:15:00+05:30 or ...Z).")
        return super().to_internal_value(value)


class LatencyQuery(serializers.Serializer):
    # "from" is a Python keyword: declared through the class namespace.
    vars()["from"] = AwareDateTimeField(required=False, help_text="Start of the range (inclusive), with a UTC "
                                                                   "offset. Default: `to` minus 7 days.")
    to = AwareDateTimeField(required=False, help_text="End of the range (exclusive), with a UTC offset. Default: now.")
    metric = serializers.ChoiceField(choices=list(latency.METRICS), default="total",
                                     help_text="total (broker + overhead), broker, overhead or validation.")
    broker = serializers.ChoiceField(choices=(), required=False, help_text="Only orders of this broker "
                                                                          "(`sandbox`: analyze mode).")
    group_by = serializers.CharField(required=False, default="", allow_blank=True,
                                     help_text="Comma-separated: broker, user, day (trading days, IST). "
                                               "Empty: one row for the whole range.")
    user = serializers.IntegerField(required=False, min_value=1,
                                    help_text="Operators only: one user's figures (default: everyone's).")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["broker"].choices = broker_names()  # a callable's worth: brokers come from settings

    def validate_group_by(self, value: str) -> tuple[str, ...]:
        return params.group_by(value, latency.GROUPS)

    def validate_user(self, value: int) -> int:
        return params.operator_only_user(self, value)

    def validate(self, attrs: dict) -> dict:
        until = attrs.get("to") or timezone.now()
        since = attrs.get("from") or until - DEFAULT_RANGE
        if since >= until:
            raise serializers.ValidationError({"to": ["must be after from."]})
        if until - since > MAX_RANGE:
            raise serializers.ValidationError({"to": [f"the range may span at most {MAX_RANGE.days} days."]})
        attrs["from"], attrs["to"] = since, until
        return attrs


class SlaShareSerializer(serializers.Serializer):
    under_ms = serializers.IntegerField(help_text="The threshold (strictly under it).")
    count = serializers.IntegerField()
    share = serializers.FloatField(help_text="count / the group's count, 0 to 1.")


class LatencyRowSerializer(serializers.Serializer):
    broker = serializers.CharField(allow_null=True, help_text="Set when grouped by broker.")
    user_id = serializers.IntegerField(allow_null=True, help_text="Set when grouped by user.")
    username = serializers.CharField(allow_null=True, help_text="Set when grouped by user.")
    day = serializers.DateField(allow_null=True, help_text="The trading day (IST), when grouped by day.")
    count = serializers.IntegerField()
    mean_ms = serializers.FloatField()
    max_ms = serializers.FloatField()
    p50_ms = serializers.FloatField()
    p90_ms = serializers.FloatField()
    p95_ms = serializers.FloatField()
    p99_ms = serializers.FloatField()
    sla = SlaShareSerializer(many=True)


class LatencyReportSerializer(serializers.Serializer):
    vars()["from"] = serializers.DateTimeField()
    to = serializers.DateTimeField()
    metric = serializers.CharField()
    group_by = serializers.ListField(child=serializers.CharField())
    percentile_precision = serializers.FloatField(
        help_text="Bound on the percentiles' relative error: 0 when computed exactly from the orders (the "
                  "range holds no rolled-up day), 0.005 when closed days came from the daily rollups. "
                  "Counts, means, maxima and SLA shares are always exact.")
    results = LatencyRowSerializer(many=True)


class LatencyView(ResourceApiMixin, GenericAPIView):
    """Latency percentiles (p50/p90/p95/p99, interpolated as PostgreSQL's percentile_cont) and the
    shares of orders under 100, 150 and 200 ms, over the orders placed in [from, to) that reached a
    broker; per broker, user and/or day. Closed trading days are read from daily rollups (see
    `percentile_precision`), the rest of the range from the orders."""

    serializer_class = LatencyReportSerializer
    pagination_class = None
    filter_backends: list = []

    @extend_schema(parameters=[LatencyQuery], responses={200: LatencyReportSerializer})
    def get(self, request: Request) -> Response:
        query = LatencyQuery(data=request.query_params, context={"request": request})
        query.is_valid(raise_exception=True)
        params = query.validated_data
        # Operators see everyone's orders (as in the admin) or the user they name; a trader their own.
        user_id = params.get("user") if request.user.is_staff else request.user.pk
        report = rollup.report(latency.LatencyQuery(
            since=params["from"], until=params["to"], metric=params["metric"], group_by=params["group_by"],
            broker=params.get("broker")), user_id=user_id)
        return Response(LatencyReportSerializer({
            "from": params["from"], "to": params["to"], "metric": params["metric"],
            "group_by": list(params["group_by"]), "percentile_precision": report.percentile_precision,
            "results": report.results}).data)
