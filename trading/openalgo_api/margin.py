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

from brokers.adapters.base import BrokerAdapter, OrderSpec
from brokers.models import InstrumentType
from brokers.services.instruments import get_instrument
from trading.openalgo_api import shapes
from trading.openalgo_api.base import ApiError
from trading.openalgo_api.readbase import BrokerReadView
from trading.services.validation import parse_order

ONE = Decimal("1")
ZERO = Decimal("0")
MAX_LEGS = 50


class MarginRequest(shapes.AccountRequest):
    # Each leg is an order, parsed by the one order parser in handle() (naming "positions[1].quantity").
    positions = serializers.ListField(child=serializers.JSONField(), min_length=1, max_length=MAX_LEGS,
                                      error_messages={"min_length": "give at least one leg.",
                                                      "max_length": f"at most {MAX_LEGS} legs per request."})


def _leg_price(adapter: BrokerAdapter, leg: OrderSpec) -> Decimal:
    if leg.price_type == "LIMIT":
        return leg.price
    if leg.price_type in ("SL", "SL-M"):
        return leg.trigger_price
    return adapter.quotes(leg.exchange, leg.symbol).ltp


def _leverage(adapter: BrokerAdapter, leg: OrderSpec, instrument_type: str) -> Decimal:
    leverage = getattr(adapter, "leverage", None)
    if not callable(leverage):
        return ONE
    value = Decimal(leverage(instrument_type, leg.product, leg.action))
    return value if value > 0 else ONE


def estimate(adapter: BrokerAdapter, legs: list[OrderSpec]) -> dict[str, Decimal]:
    total = span = ZERO
    for leg in legs:
        instrument_type = get_instrument(leg.exchange, leg.symbol).instrument_type  # cached: the parser read it
        required = leg.quantity * _leg_price(adapter, leg) / _leverage(adapter, leg, instrument_type)
        total += required
        if instrument_type in (InstrumentType.FUT, InstrumentType.CE, InstrumentType.PE):
            span += required
    return {"total_margin_required": total, "span_margin": span, "exposure_margin": ZERO}


class MarginView(BrokerReadView):
    serializer_class = MarginRequest

    def handle(self, request: Request, data: dict[str, Any]) -> Response:
        legs = [parse_order(leg, prefix=f"positions[{index}].", strategy="")
                for index, leg in enumerate(data["positions"])]
        adapter = self.adapter(request, data)
        calculator = getattr(adapter, "margin", None)  # the broker's own calculator, else the estimate
        figures = self.call(calculator, legs) if callable(calculator) else self.call(estimate, adapter, legs)
        missing = {"total_margin_required", "span_margin", "exposure_margin"} - set(figures)
        if missing:
            raise ApiError(f"The broker's margin answer lacks {', '.join(sorted(missing))}.", 500)
        return self.success(request, data={k: shapes.money(Decimal(figures[k])) for k in
                                           ("total_margin_required", "span_margin", "exposure_margin")})
