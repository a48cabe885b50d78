"""django-filter filtersets of the trading accounts and the instrument master in /api/."""
from __future__ import annotations

import django_filters as filters
from django.db.models import Q, QuerySet

from brokers.models import Exchange, Instrument, InstrumentType, TradingAccount
from core.resource_api.filters import UpperCharFilter


class TradingAccountFilter(filters.FilterSet):
    class Meta:
        model = TradingAccount
        fields = ["broker", "is_active", "is_primary"]


class InstrumentFilter(filters.FilterSet):
    q = filters.CharFilter(method="filter_q", label="Symbol or name contains")
    exchange = filters.ChoiceFilter(choices=Exchange.choices)
    instrument_type = filters.ChoiceFilter(choices=InstrumentType.choices)
    underlying = UpperCharFilter(field_name="underlying")
    symbol = UpperCharFilter(field_name="symbol")
    expiry = filters.DateFilter()

    class Meta:
        model = Instrument
        fields = ["q", "exchange", "instrument_type", "underlying", "symbol", "expiry"]

    def filter_q(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        return qs.filter(Q(symbol__icontains=value) | Q(name__icontains=value)) if value else qs
