"""/api/v1/ market data: quotes, multiquotes, depth, history and intervals, read through the user's
adapter (the sandbox answers from its price store in analyze mode). Symbols are checked against the
instrument master first, so an unknown symbol is a 400 naming the field, never a broker round trip.
"""
from __future__ import annotations

import re
from typing import Any

from django.urls import re_path
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from brokers.adapters.base import BrokerError
from brokers.services.instruments import get_instrument
from trading.openalgo_api import shapes
from trading.openalgo_api.base import ApiError
from trading.openalgo_api.readbase import BrokerReadView

MAX_MULTIQUOTES = 500
#: OpenAlgo's interval vocabulary; an adapter lists the subset it serves.
INTERVAL_RE = re.compile(r"^(\d+)(s|m|h)$|^(D|W|M|Q|Y)$")


def unknown_symbol(exchange: str, symbol: str) -> str:
    return f"{symbol} is not in the instrument master of {exchange}."


class KnownInstrumentRequest(shapes.InstrumentRequest):
    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if get_instrument(attrs["exchange"], attrs["symbol"]) is None:
            raise serializers.ValidationError({"symbol": unknown_symbol(attrs["exchange"], attrs["symbol"])})
        return attrs


class QuotesView(BrokerReadView):
    serializer_class = KnownInstrumentRequest

    def handle(self, request: Request, data: dict[str, Any]) -> Response:
        reader = self.market_reader(request, data)
        quote = self.call(reader.read, lambda adapter: adapter.quotes(data["exchange"], data["symbol"]))
        return self.success(request, data=shapes.quote_dict(quote))


class SymbolPair(serializers.Serializer):
    symbol = shapes.SymbolField()
    exchange = shapes.ExchangeField()


class MultiQuotesRequest(shapes.AccountRequest):
    symbols = serializers.ListField(child=SymbolPair(), min_length=1, max_length=MAX_MULTIQUOTES)


class MultiQuotesView(BrokerReadView):
    """One result per requested pair, in request order; a pair that fails carries `error` instead of
    `data` (OpenAlgo's shape), and only a request with no known symbol at all is a 400."""

    serializer_class = MultiQuotesRequest

    def handle(self, request: Request, data: dict[str, Any]) -> Response:
        pairs = data["symbols"]
        known = [get_instrument(p["exchange"], p["symbol"]) is not None for p in pairs]
        if not any(known):
            first = pairs[0]
            raise ApiError(f"symbols[0].symbol: {unknown_symbol(first['exchange'], first['symbol'])}")
        reader = self.market_reader(request, data)
        results = []
        for pair, ok in zip(pairs, known, strict=True):
            row: dict[str, Any] = {"symbol": pair["symbol"], "exchange": pair["exchange"]}
            if not ok:
                row["error"] = unknown_symbol(pair["exchange"], pair["symbol"])
            else:
                try:
                    quote = reader.read(lambda adapter, pair=pair: adapter.quotes(pair["exchange"], pair["symbol"]))
                    row["data"] = shapes.quote_dict(quote)
                except BrokerError as exc:
                    row["error"] = exc.message
            results.append(row)
        return self.success(request, results=results)


class DepthView(BrokerReadView):
    serializer_class = KnownInstrumentRequest

    def handle(self, request: Request, data: dict[str, Any]) -> Response:
        reader = self.market_reader(request, data)
        depth = self.call(reader.read, lambda adapter: adapter.depth(data["exchange"], data["symbol"]))
        return self.success(request, data=shapes.depth_dict(depth))


class HistoryRequest(KnownInstrumentRequest):
    interval = serializers.CharField(max_length=8)
    start_date = serializers.DateField(input_formats=["%Y-%m-%d"])
    end_date = serializers.DateField(input_formats=["%Y-%m-%d"])
    # OpenAlgo's client sends source="api" (the broker); "db" is OpenAlgo's local DuckDB store.
    source = serializers.ChoiceField(choices=["api"], default="api", error_messages={
        "invalid_choice": "only 'api' (the broker) is available on AlgoDesk."})

    def validate_interval(self, value: str) -> str:
        if not INTERVAL_RE.match(value):
            raise serializers.ValidationError("use OpenAlgo's intervals, such as 1m, 5m, 1h or D.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        if attrs["end_date"] < attrs["start_date"]:
            raise serializers.ValidationError({"end_date": "must not be before start_date."})
        return attrs


def adapter_intervals(adapter: Any) -> list[str]:
    """The intervals an adapter serves: its `intervals()` list; none if it offers no history."""
    listing = getattr(adapter, "intervals", None)
    return list(listing()) if callable(listing) else []


class HistoryView(BrokerReadView):
    serializer_class = HistoryRequest

    def handle(self, request: Request, data: dict[str, Any]) -> Response:
        def history(adapter: Any) -> list:
            served = adapter_intervals(adapter)
            if served and data["interval"] not in served:
                raise ApiError(f"interval: {data['interval']} is not served; use one of {', '.join(served)}.")
            return adapter.history(data["exchange"], data["symbol"], data["interval"],
                                   data["start_date"].isoformat(), data["end_date"].isoformat())

        candles = self.call(self.market_reader(request, data).read, history)
        return self.success(request, data=[shapes.candle_dict(c) for c in candles])


def group_intervals(names: list[str]) -> dict[str, list[str]]:
    """OpenAlgo's grouping, each list in numeric order: seconds, minutes, hours, days, weeks, months."""
    groups: dict[str, list[str]] = {k: [] for k in ("months", "weeks", "days", "hours", "minutes", "seconds")}
    unit_group = {"s": "seconds", "m": "minutes", "h": "hours", "D": "days", "W": "weeks", "M": "months"}
    for name in names:
        match = INTERVAL_RE.match(name)
        if match is None:
            continue
        unit = match.group(2) or match.group(3)
        if unit in unit_group:
            groups[unit_group[unit]].append(name)
    for key, values in groups.items():
        groups[key] = sorted(values, key=lambda v: int(re.match(r"\d*", v).group() or 0))
    return groups


class IntervalsView(BrokerReadView):
    serializer_class = shapes.AccountRequest

    def handle(self, request: Request, data: dict[str, Any]) -> Response:
        served = self.call(self.market_reader(request, data).read, adapter_intervals)
        return self.success(request, data=group_intervals(served))


urlpatterns = [
    re_path(r"^quotes/?$", QuotesView.as_view(), name="quotes"),
    re_path(r"^multiquotes/?$", MultiQuotesView.as_view(), name="multiquotes"),
    re_path(r"^depth/?$", DepthView.as_view(), name="depth"),
    re_path(r"^history/?$", HistoryView.as_view(), name="history"),
    re_path(r"^intervals/?$", IntervalsView.as_view(), name="intervals"),
]
