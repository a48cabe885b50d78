"""/api/v1/margin: the margin a basket of 1 to 50 legs would block.

An adapter with a margin calculator (`margin(legs) -> dict` with OpenAlgo's three figures) answers
itself. Otherwise AlgoDesk estimates it the way the sandbox blocks margin: quantity x price /
leverage per leg, where price is the LTP for MARKET, the limit price for LIMIT and the trigger for
SL and SL-M, and leverage comes from the adapter's `leverage(instrument_type, product, action)` when it
has one (the sandbox reads its configuration) or is 1 (the full value) when it has none. The estimate
models no SPAN: `span_margin` is the part of the total from derivative legs, `exposure_margin` is 0.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from brokers.adapters.base import BrokerAdapter, OrderRequest
from brokers.models import InstrumentType
from brokers.services.instruments import get_instrument
from trading.openalgo_api import shapes
from trading.openalgo_api.base import ApiError
from trading.openalgo_api.readbase import BrokerReadView

ONE = Decimal("1")
ZERO = Decimal("0")
MAX_LEGS = 50


class MarginLeg(serializers.Serializer):
    exchange = shapes.ExchangeField()
    symbol = shapes.SymbolField()
    action = serializers.ChoiceField(choices=["BUY", "SELL"])
    quantity = serializers.DecimalField(max_digits=18, decimal_places=6, min_value=Decimal("0.000001"))
    product = serializers.ChoiceField(choices=["MIS", "CNC", "NRML"])
    pricetype = serializers.ChoiceField(choices=["MARKET", "LIMIT", "SL", "SL-M"])
    price = serializers.DecimalField(max_digits=14, decimal_places=4, min_value=ZERO, default=ZERO)
    trigger_price = serializers.DecimalField(max_digits=14, decimal_places=4, min_value=ZERO, default=ZERO)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, dict):  # OpenAlgo accepts action and pricetype in any case
            data = {**data, **{k: data[k].upper() for k in ("action", "pricetype", "product")
                               if isinstance(data.get(k), str)}}
        return super().to_internal_value(data)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instrument = get_instrument(attrs["exchange"], attrs["symbol"])
        if instrument is None:
            raise serializers.ValidationError(
                {"symbol": f"{attrs['symbol']} is not in the instrument master of {attrs['exchange']}."})
        if attrs["exchange"] != "CRYPTO" and attrs["quantity"] != attrs["quantity"].to_integral_value():
            raise serializers.ValidationError({"quantity": "must be a whole number."})
        if attrs["pricetype"] == "LIMIT" and attrs["price"] <= 0:
            raise serializers.ValidationError({"price": "is required for a LIMIT leg."})
        if attrs["pricetype"] in ("SL", "SL-M") and attrs["trigger_price"] <= 0:
            raise serializers.ValidationError({"trigger_price": f"is required for an {attrs['pricetype']} leg."})
        attrs["instrument"] = instrument
        return attrs


class MarginRequest(shapes.AccountRequest):
    positions = serializers.ListField(child=MarginLeg(), min_length=1, max_length=MAX_LEGS,
                                      error_messages={"min_length": "give at least one leg.",
                                                      "max_length": f"at most {MAX_LEGS} legs per request."})


def _leg_price(adapter: BrokerAdapter, leg: dict[str, Any]) -> Decimal:
    if leg["pricetype"] == "LIMIT":
        return leg["price"]
    if leg["pricetype"] in ("SL", "SL-M"):
        return leg["trigger_price"]
    return adapter.quotes(leg["exchange"], leg["symbol"]).ltp


def _leverage(adapter: BrokerAdapter, leg: dict[str, Any]) -> Decimal:
    leverage = getattr(adapter, "leverage", None)
    if not callable(leverage):
        return ONE
    value = Decimal(leverage(leg["instrument"].instrument_type, leg["product"], leg["action"]))
    return value if value > 0 else ONE


def estimate(adapter: BrokerAdapter, legs: list[dict[str, Any]]) -> dict[str, Decimal]:
    total = span = ZERO
    for leg in legs:
        required = leg["quantity"] * _leg_price(adapter, leg) / _leverage(adapter, leg)
        total += required
        if leg["instrument"].instrument_type in (InstrumentType.FUT, InstrumentType.CE, InstrumentType.PE):
            span += required
    return {"total_margin_required": total, "span_margin": span, "exposure_margin": ZERO}


def _order(leg: dict[str, Any]) -> OrderRequest:
    return OrderRequest(exchange=leg["exchange"], symbol=leg["symbol"], action=leg["action"],
                        quantity=leg["quantity"], price_type=leg["pricetype"], product=leg["product"],
                        price=leg["price"], trigger_price=leg["trigger_price"])


class MarginView(BrokerReadView):
    serializer_class = MarginRequest

    def handle(self, request: Request, data: dict[str, Any]) -> Response:
        adapter = self.adapter(request, data)
        calculator = getattr(adapter, "margin", None)
        if callable(calculator):
            figures = self.call(calculator, [_order(leg) for leg in data["positions"]])
        else:
            figures = self.call(estimate, adapter, data["positions"])
        missing = {"total_margin_required", "span_margin", "exposure_margin"} - set(figures)
        if missing:
            raise ApiError(f"The broker's margin answer lacks {', '.join(sorted(missing))}.", 500)
        return self.success(request, data={k: shapes.money(Decimal(figures[k])) for k in
                                           ("total_margin_required", "span_margin", "exposure_margin")})
