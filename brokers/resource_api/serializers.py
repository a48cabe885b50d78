"""Serializers of the trading accounts and the instrument master in /api/."""
from __future__ import annotations

from typing import Any

from rest_framework import serializers

from brokers.adapters.egress import egress_problems
from brokers.adapters.registry import UnknownBroker, adapter_class, broker_names
from brokers.models import Instrument, TradingAccount


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


class InstrumentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Instrument
        fields = ["id", "exchange", "symbol", "name", "underlying", "instrument_type", "expiry", "strike",
                  "lot_size", "tick_size", "freeze_qty"]
        read_only_fields = fields
