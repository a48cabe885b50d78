"""Viewsets of the trading accounts and the instrument master in /api/ (routed by trading/resource_api/urls.py)."""
from __future__ import annotations

from typing import Any

from django.db import transaction
from rest_framework import mixins

from brokers.models import Instrument, TradingAccount
from brokers.resource_api import filters, serializers
from brokers.services.accounts import make_primary, set_pinned
from core.resource_api.base import GlobalViewSet, ScopedViewSet
from core.resource_api.pagination import OrderedPageNumberPagination


class TradingAccountViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                            mixins.UpdateModelMixin, mixins.DestroyModelMixin, ScopedViewSet):
    """The user's broker accounts. Credentials are write-only; `credential_keys` lists those set."""

    queryset = TradingAccount.objects.all()
    serializer_class = serializers.TradingAccountSerializer
    filterset_class = filters.TradingAccountFilter
    pagination_class = OrderedPageNumberPagination
    ordering_fields = ["priority", "name", "created_at"]

    def perform_create(self, serializer: serializers.TradingAccountSerializer) -> None:
        self._save_with_primary(serializer, user=self.request.user)

    def perform_update(self, serializer: serializers.TradingAccountSerializer) -> None:
        self._save_with_primary(serializer)

    def _save_with_primary(self, serializer: serializers.TradingAccountSerializer, **extra: Any) -> None:
        # The partial unique constraint allows one primary per user: save as non-primary, then let
        # the service swap the flag under row locks.
        wants_primary = serializer.validated_data.pop("is_primary", None)
        wants_pinned = serializer.validated_data.pop("pinned", None)
        with transaction.atomic():
            account = serializer.save(**extra)
            if wants_pinned is not None:
                set_pinned(account, wants_pinned, request=self.request)
            if wants_primary:
                make_primary(account)
            elif wants_primary is False and account.is_primary:
                TradingAccount.objects.filter(pk=account.pk).update(is_primary=False)
        account.refresh_from_db()


class InstrumentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, GlobalViewSet):
    """The instrument master (shared by every user, read-only)."""

    queryset = Instrument.objects.all()
    serializer_class = serializers.InstrumentSerializer
    filterset_class = filters.InstrumentFilter
    pagination_class = OrderedPageNumberPagination
    ordering_fields = ["symbol", "expiry", "strike"]
