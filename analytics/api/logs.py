"""/api/analytics/api-logs/: the API log (calls of /api/v1/, /api/ and the webhooks), newest first.

A trader sees their own calls; an operator (a staff user) sees everyone's and may filter by user. Bodies are
stored redacted and bounded (analytics.middleware), so nothing secret can come back through here. The rows
live in the logs database (analytics.routers); pages are a cursor on id (no count over a big table).
"""
from __future__ import annotations

import django_filters as filters
from django.db.models import QuerySet
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.generics import ListAPIView

from analytics.models import ApiLog
from core.resource_api.base import ResourceApiMixin
from core.resource_api.pagination import IdCursorPagination
from trading.resource_api.filters import UtcDateTimeFilter


class ApiLogFilter(filters.FilterSet):
    since = UtcDateTimeFilter(field_name="timestamp", lookup_expr="gte", label="From (inclusive), with a UTC offset.")
    until = UtcDateTimeFilter(field_name="timestamp", lookup_expr="lt", label="To (exclusive), with a UTC offset.")
    status = filters.NumberFilter(field_name="status", label="HTTP status answered.", min_value=100, max_value=599)
    errors = filters.BooleanFilter(method="_errors", label="true: only answers of 400 and above; false: the rest.")
    method = filters.CharFilter(field_name="method", lookup_expr="iexact")
    endpoint = filters.CharFilter(field_name="endpoint", lookup_expr="startswith", label="Endpoint prefix "
                                                                                          "(/api/v1/placeorder).")
    user = filters.NumberFilter(field_name="user_id", label="Operators only: one user's calls.", min_value=1,
                                max_value=2**63 - 1)

    class Meta:
        model = ApiLog
        fields = ["since", "until", "status", "errors", "method", "endpoint", "user"]

    def _errors(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        return queryset.filter(status__gte=400) if value else queryset.filter(status__lt=400)


class ApiLogSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiLog
        fields = ["id", "timestamp", "client_ip", "user_id", "username", "key_prefix", "method", "endpoint",
                  "status", "duration_ms", "broker", "query", "request_body", "response_body"]


class ApiLogList(ResourceApiMixin, ListAPIView):
    """Your API calls (operators: everyone's), newest first, with their redacted bodies."""

    serializer_class = ApiLogSerializer
    filterset_class = ApiLogFilter
    pagination_class = IdCursorPagination
    filter_backends = [filters.rest_framework.DjangoFilterBackend]

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):
            return ApiLog.objects.none()
        user = self.request.user
        if user.is_staff:
            return ApiLog.objects.all()
        wanted = self.request.query_params.get("user")
        if wanted not in (None, "", str(user.pk)):
            raise ValidationError({"user": ["only operators may see another user's calls."]})
        return ApiLog.objects.filter(user_id=user.pk)
