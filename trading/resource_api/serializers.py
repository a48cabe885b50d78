"""Serializers of the /api/ resource API. Decimals travel as strings (COERCE_DECIMAL_TO_STRING)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from brokers.models import Exchange
from trading.models import Action, Holding, Order, PendingOrder, Position, PriceType, Product, Trade


class BookSerializer(serializers.ModelSerializer):
    """A row of the books. Quantities are normalized ("3", "2.5"), never the column's six places."""

    def build_standard_field(self, field_name: str, model_field: Any) -> tuple[type, dict[str, Any]]:
        field_class, kwargs = super().build_standard_field(field_name, model_field)
        if "quantity" in field_name and issubclass(field_class, serializers.DecimalField):
            kwargs["normalize_output"] = True
        return field_class, kwargs


class OrderSerializer(BookSerializer):
    account_id = serializers.IntegerField(read_only=True, allow_null=True)
    parent_id = serializers.IntegerField(read_only=True, allow_null=True)
    pending_id = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = Order
        fields = ["id", "account_id", "parent_id", "pending_id", "strategy", "client_order_id", "broker_order_id",
                  "exchange", "symbol", "action", "quantity", "price", "trigger_price", "disclosed_quantity",
                  "price_type", "product", "status", "filled_quantity", "average_price", "rejection_reason",
                  "source", "kind", "is_analyze", "placed_at", "executed_at", "updated_at",
                  "validation_ms", "broker_ms", "overhead_ms"]
        read_only_fields = fields


class OrderCreateSerializer(serializers.Serializer):
    """The create request's shape, for the OpenAPI schema only: the body is parsed by the one order
    parser (views.parse_resource_order), never by this. `account_id` picks one of the user's trading
    accounts; without it the primary account takes the order (the sandbox in analyze mode)."""

    account_id = serializers.IntegerField(required=False, allow_null=True)
    # OpenAlgo requires a strategy tag; orders of the resource API are tagged "api" unless named.
    strategy = serializers.CharField(max_length=100, required=False, default="api")
    exchange = serializers.ChoiceField(choices=Exchange.choices)
    symbol = serializers.CharField(max_length=64)
    action = serializers.ChoiceField(choices=Action.choices)
    quantity = serializers.DecimalField(max_digits=18, decimal_places=6, min_value=Decimal("0.000001"))
    price_type = serializers.ChoiceField(choices=PriceType.choices, default=PriceType.MARKET)
    product = serializers.ChoiceField(choices=Product.choices, default=Product.MIS)
    price = serializers.DecimalField(max_digits=14, decimal_places=4, min_value=Decimal("0"), default=Decimal("0"))
    trigger_price = serializers.DecimalField(max_digits=14, decimal_places=4, min_value=Decimal("0"),
                                             default=Decimal("0"))
    disclosed_quantity = serializers.DecimalField(max_digits=18, decimal_places=6, min_value=Decimal("0"),
                                                  default=Decimal("0"))
    client_order_id = serializers.CharField(max_length=64, required=False, allow_null=True, default=None)


class TradeSerializer(BookSerializer):
    order_id = serializers.IntegerField(read_only=True)
    account_id = serializers.IntegerField(read_only=True, allow_null=True)
    value = serializers.DecimalField(max_digits=24, decimal_places=4, read_only=True)

    class Meta:
        model = Trade
        fields = ["id", "order_id", "account_id", "broker_trade_id", "exchange", "symbol", "action", "product",
                  "quantity", "price", "value", "traded_at"]
        read_only_fields = fields


class PositionSerializer(BookSerializer):
    account_id = serializers.IntegerField(read_only=True, allow_null=True)
    pnl = serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True)

    class Meta:
        model = Position
        fields = ["id", "account_id", "exchange", "symbol", "product", "net_quantity", "buy_quantity",
                  "sell_quantity", "buy_value", "sell_value", "average_price", "ltp", "realized_pnl",
                  "unrealized_pnl", "pnl", "opened_at", "updated_at"]
        read_only_fields = fields


class HoldingSerializer(BookSerializer):
    account_id = serializers.IntegerField(read_only=True, allow_null=True)
    pnl_percent = serializers.DecimalField(max_digits=10, decimal_places=2, read_only=True)

    class Meta:
        model = Holding
        fields = ["id", "account_id", "exchange", "symbol", "product", "quantity", "average_price", "ltp",
                  "pnl", "pnl_percent", "updated_at"]
        read_only_fields = fields


class PendingOrderSerializer(serializers.ModelSerializer):
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = PendingOrder
        fields = ["id", "api_type", "payload", "status", "decided_by", "decided_at", "result", "error",
                  "created_at"]
        read_only_fields = fields


class PendingDecisionSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
