"""Serializers of the /api/ resource API. Decimals travel as strings (COERCE_DECIMAL_TO_STRING)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from brokers.adapters.egress import egress_problems
from brokers.adapters.registry import UnknownBroker, adapter_class, broker_names
from brokers.models import Exchange, Instrument, TradingAccount
from trading.models import Action, Holding, Order, PendingOrder, Position, PriceType, Product, Trade


class TradingAccountSerializer(serializers.ModelSerializer):
    """Credentials are write-only: accepted on create and update, never returned. `credential_keys`
    says which are set. On update the given keys are set and a key given as null or "" is removed,
    so one secret can be rotated without re-sending the others."""

    broker = serializers.ChoiceField(choices=[])
    credentials = serializers.DictField(child=serializers.CharField(allow_blank=True, allow_null=True,
                                                                    max_length=4096),
                                        write_only=True, required=False)
    credential_keys = serializers.ListField(child=serializers.CharField(), read_only=True)
    # The proxy URL may carry a password: write-only like the credentials; `egress_proxy_set` says if one is.
    egress_proxy_url = serializers.CharField(write_only=True, required=False, allow_blank=True, allow_null=True,
                                             max_length=2048)
    egress_proxy_set = serializers.SerializerMethodField()

    class Meta:
        model = TradingAccount
        fields = ["id", "name", "broker", "is_active", "is_primary", "priority", "pinned", "standing_in_for",
                  "connection_status", "last_connected_at", "last_error", "consecutive_failures",
                  "consecutive_successes", "egress_source_address", "egress_proxy_url", "egress_proxy_set",
                  "credentials", "credential_keys", "created_at", "updated_at"]
        read_only_fields = ["standing_in_for", "connection_status", "last_connected_at", "last_error",
                            "consecutive_failures", "consecutive_successes", "created_at", "updated_at"]

    def get_egress_proxy_set(self, account: TradingAccount) -> bool:
        return bool(account.egress_proxy_url)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["broker"].choices = broker_names()  # read at request time: settings may change in tests

    def validate_name(self, value: str) -> str:
        value = value.strip()
        user = self.context["request"].user
        taken = TradingAccount.objects.for_user(user).filter(name=value)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise serializers.ValidationError(f"you already have a trading account named {value!r}.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        broker = attrs.get("broker") or getattr(self.instance, "broker", None)
        given = attrs.get("credentials")
        if given is not None and broker:
            try:
                allowed = set(adapter_class(broker).credential_fields)
            except UnknownBroker as exc:
                raise serializers.ValidationError({"broker": str(exc)}) from exc
            unknown = sorted(set(given) - allowed) if allowed else []
            if unknown:
                raise serializers.ValidationError({"credentials": (
                    f"unknown field(s) {', '.join(unknown)} for broker {broker}; "
                    f"expected {', '.join(sorted(allowed))}.")})
            merged = {} if self.instance is None else dict(self.instance.credentials or {})
            merged.update(given)
            attrs["credentials"] = {k: v for k, v in merged.items() if v not in (None, "")}
            # The adapter knows what a usable set looks like (required fields, URL schemes).
            check = getattr(adapter_class(broker), "validate_credentials", None)
            problems = check(attrs["credentials"]) if check else {}
            if problems:
                raise serializers.ValidationError({"credentials": problems})
        self._check_egress(attrs)
        return attrs

    def _check_egress(self, attrs: dict[str, Any]) -> None:
        """The egress as it will be after this change: a local address or a proxy URL, not both."""
        for name in ("egress_source_address", "egress_proxy_url"):
            if name in attrs:
                attrs[name] = (attrs[name] or "").strip() or None
        source = attrs.get("egress_source_address", getattr(self.instance, "egress_source_address", None))
        proxy = attrs.get("egress_proxy_url", getattr(self.instance, "egress_proxy_url", None))
        problems = egress_problems(source or "", proxy or "")
        if problems:
            raise serializers.ValidationError(problems)


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
    """An order for the pipeline (validate -> risk -> route -> record). `account_id` picks one of the
    user's trading accounts; without it the primary account takes the order (the sandbox in analyze
    mode). The pipeline checks symbol, lot and tick size; this only checks types and choices."""

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

    def validate_account_id(self, value: int | None) -> TradingAccount | None:
        if value is None:
            return None
        account = TradingAccount.objects.for_user(self.context["request"].user).active().filter(pk=value).first()
        if account is None:  # another user's account is as unknown as a missing one
            raise serializers.ValidationError("no such active trading account.")
        return account


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


class InstrumentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Instrument
        fields = ["id", "exchange", "symbol", "name", "underlying", "instrument_type", "expiry", "strike",
                  "lot_size", "tick_size", "freeze_qty"]
        read_only_fields = fields

