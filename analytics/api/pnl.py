"""/api/analytics/pnl/: realized P&L by trading day, per strategy, mode and (for operators) user.

A trader sees their own P&L (sandbox and live accounts); an operator (a staff user) sees everyone's and
may narrow it to one user. Days are trading days (IST calendar days), [from, to] inclusive.
"""
from __future__ import annotations

import datetime as dt

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from analytics.api import params
from analytics.services import pnl
from core.resource_api.base import ResourceApiMixin

DEFAULT_DAYS = 30
MAX_DAYS = 366


class PnlQuery(serializers.Serializer):
    # "from" is a Python keyword: declared through the class namespace.
    vars()["from"] = serializers.DateField(required=False, help_text="First trading day (IST), inclusive. "
                                                                     "Default: `to` minus 29 days.")
    to = serializers.DateField(required=False, help_text="Last trading day (IST), inclusive. Default: today.")
    group_by = serializers.CharField(required=False, default="", allow_blank=True,
                                     help_text="Comma-separated: user, strategy, mode. Rows are always per day.")
    mode = serializers.ChoiceField(choices=pnl.MODES, required=False,
                                   help_text="Only the sandbox (analyze mode) or only live accounts.")
    strategy = serializers.CharField(required=False, max_length=100, allow_blank=True,
                                     help_text="Only P&L realized by orders with this strategy tag (empty: untagged).")
    user = serializers.IntegerField(required=False, min_value=1,
                                    help_text="Operators only: one user's P&L (default: everyone's).")

    def validate_group_by(self, value: str) -> tuple[str, ...]:
        return params.group_by(value, pnl.GROUPS)

    def validate_user(self, value: int) -> int:
        return params.operator_only_user(self, value)

    def validate(self, attrs: dict) -> dict:
        until = attrs.get("to") or pnl.today()
        since = attrs.get("from") or until - dt.timedelta(days=DEFAULT_DAYS - 1)
        if since > until:
            raise serializers.ValidationError({"to": ["must not be before from."]})
        if (until - since).days + 1 > MAX_DAYS:
            raise serializers.ValidationError({"to": [f"the range may span at most {MAX_DAYS} days."]})
        if since.year < 1970 or until.year > 9000:  # IST bounds of 0001-01-01 or 9999-12-31 overflow
            raise serializers.ValidationError({"from": ["must be a trading day between 1970 and 9000."]})
        attrs["from"], attrs["to"] = since, until
        return attrs


class PnlRowSerializer(serializers.Serializer):
    day = serializers.DateField(help_text="The trading day (IST).")
    user_id = serializers.IntegerField(allow_null=True, help_text="Set when grouped by user.")
    username = serializers.CharField(allow_null=True, help_text="Set when grouped by user.")
    strategy = serializers.CharField(allow_null=True, help_text="The orders' strategy tag (\"\" for none), when "
                                                                "grouped by strategy.")
    mode = serializers.CharField(allow_null=True, help_text="sandbox or live, when grouped by mode.")
    realized_pnl = serializers.DecimalField(max_digits=18, decimal_places=2, source="realized",
                                            help_text="Realized P&L of the day's closing fills.")


class PnlReportSerializer(serializers.Serializer):
    vars()["from"] = serializers.DateField()
    to = serializers.DateField()
    group_by = serializers.ListField(child=serializers.CharField())
    total = serializers.DecimalField(max_digits=18, decimal_places=2)
    results = PnlRowSerializer(many=True)


class PnlView(ResourceApiMixin, GenericAPIView):
    """Realized P&L per trading day (the fills that closed positions: the sandbox's funds ledger and live
    accounts' position history), summed per strategy tag, mode and/or user. Days with none are left out."""

    serializer_class = PnlReportSerializer
    pagination_class = None
    filter_backends: list = []

    @extend_schema(parameters=[PnlQuery], responses={200: PnlReportSerializer})
    def get(self, request: Request) -> Response:
        query = PnlQuery(data=request.query_params, context={"request": request})
        query.is_valid(raise_exception=True)
        params = query.validated_data
        user_id = params.get("user") if request.user.is_staff else request.user.pk  # operators see all
        rows = pnl.realized_rows(params["from"], params["to"], user_id=user_id, strategy=params.get("strategy"),
                                 modes=[params["mode"]] if params.get("mode") else pnl.MODES)
        return Response(PnlReportSerializer({
            "from": params["from"], "to": params["to"], "group_by": list(params["group_by"]),
            "total": sum((row.realized for row in rows), pnl.ZERO),
            "results": pnl.grouped(rows, params["group_by"])}).data)
