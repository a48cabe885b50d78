"""django-filter filtersets of the /api/ resource API: `<fk>_id` and a human key for each relation.

Filters only narrow a queryset the viewset has already scoped to the user, so naming another user's
account id simply matches nothing.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import django_filters as filters
from django.db.models import QuerySet

from brokers.models import Exchange
from core.resource_api.filters import IdFilter, UpperCharFilter
from trading.models import (
    Holding,
    Order,
    OrderKind,
    OrderStatus,
    PendingOrder,
    PendingStatus,
    Position,
    Product,
    Trade,
)

IST = ZoneInfo("Asia/Kolkata")


class AccountFilterSet(filters.FilterSet):
    """`account_id` (the key) and `account` (the account's name, the human key)."""

    account_id = IdFilter(field_name="account_id")
    account = filters.CharFilter(field_name="account__name")
    exchange = filters.ChoiceFilter(choices=Exchange.choices)
    symbol = UpperCharFilter(field_name="symbol")


def ist_day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """A trading day is an IST calendar day, whatever the server's time zone."""
    start = dt.datetime.combine(day, dt.time.min, IST)
    return start, start + dt.timedelta(days=1)


class DayFilter(filters.DateFilter):
    """`date=YYYY-MM-DD`: rows of that trading day (IST), as a range on an indexed timestamp."""

    def filter(self, qs: QuerySet, value: dt.date | None) -> QuerySet:
        if not value:
            return qs
        try:
            start, end = (bound.astimezone(dt.UTC) for bound in ist_day_bounds(value))  # as the database gets them
        except OverflowError:  # 0001-01-01 or 9999-12-31: no trading day can be there
            return qs.none()
        return qs.filter(**{f"{self.field_name}__gte": start, f"{self.field_name}__lt": end})


class UtcDateTimeFilter(filters.IsoDateTimeFilter):
    """An ISO time with any offset, compared in UTC (PostgreSQL refuses offsets past 15:59, ISO allows 23:59)."""

    def filter(self, qs: QuerySet, value: dt.datetime | None) -> QuerySet:
        if value and value.tzinfo is not None:
            try:
                value = value.astimezone(dt.UTC)
            except OverflowError:  # year 1 or 9999 moved past the calendar's end: all rows or none
                return qs if (value.year == 1) == (self.lookup_expr in ("gt", "gte")) else qs.none()
        return super().filter(qs, value)


class OrderFilter(AccountFilterSet):
    status = filters.MultipleChoiceFilter(choices=OrderStatus.choices)
    product = filters.ChoiceFilter(choices=Product.choices)
    strategy = filters.CharFilter()
    broker_order_id = filters.CharFilter()
    is_analyze = filters.BooleanFilter()
    kind = filters.ChoiceFilter(choices=OrderKind.choices)
    date = DayFilter(field_name="placed_at")
    placed_after = UtcDateTimeFilter(field_name="placed_at", lookup_expr="gte")
    placed_before = UtcDateTimeFilter(field_name="placed_at", lookup_expr="lt")

    class Meta:
        model = Order
        fields = ["account_id", "account", "exchange", "symbol", "status", "product", "strategy", "broker_order_id",
                  "is_analyze", "kind", "date", "placed_after", "placed_before"]


class TradeFilter(AccountFilterSet):
    order_id = IdFilter(field_name="order_id")
    order = filters.CharFilter(field_name="order__broker_order_id", label="The order's broker order id")
    date = DayFilter(field_name="traded_at")

    class Meta:
        model = Trade
        fields = ["account_id", "account", "order_id", "order", "exchange", "symbol", "date"]


class PositionFilter(AccountFilterSet):
    product = filters.ChoiceFilter(choices=Product.choices)
    open = filters.BooleanFilter(method="filter_open", label="Only positions with a non-zero net quantity")

    class Meta:
        model = Position
        fields = ["account_id", "account", "exchange", "symbol", "product", "open"]

    def filter_open(self, qs: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return qs
        return qs.exclude(net_quantity=0) if value else qs.filter(net_quantity=0)


class HoldingFilter(AccountFilterSet):
    class Meta:
        model = Holding
        fields = ["account_id", "account", "exchange", "symbol"]


class PendingOrderFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=PendingStatus.choices)

    class Meta:
        model = PendingOrder
        fields = ["status", "api_type"]
