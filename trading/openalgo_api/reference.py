"""/api/v1/ reference data from the instrument master: symbol, search and expiry.

The broker's own names (brsymbol, brexchange, token) are those of the broker that serves the user
now: the sandbox in analyze mode, else the named or primary account's broker. A broker with no
token row for an instrument uses OpenAlgo's symbol and exchange as they are (the sandbox does).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from django.urls import re_path
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from brokers.models import BrokerToken, Instrument
from brokers.services.instruments import expiries, get_instrument, search
from trading.openalgo_api import shapes
from trading.openalgo_api.base import ApiError, OpenAlgoView
from trading.openalgo_api.readbase import BrokerReadView
from trading.services.errors import NoTradingAccount

SEARCH_LIMIT = 200
DERIVATIVE_EXCHANGES = ["NFO", "BFO", "MCX", "CDS", "NCO", "BCD", "NCDEX", "CRYPTO"]


def symbol_dict(instrument: Instrument, token: BrokerToken | None) -> dict[str, Any]:
    return {
        "id": instrument.pk,
        "symbol": instrument.symbol,
        "brsymbol": (token.broker_symbol if token else "") or instrument.symbol,
        "name": instrument.name,
        "exchange": instrument.exchange,
        "brexchange": (token.broker_exchange if token else "") or instrument.exchange,
        "token": token.token if token else "",
        "expiry": instrument.expiry.strftime("%d-%b-%y").upper() if instrument.expiry else "",
        # OpenAlgo's master contract carries -1 as the strike of anything that is not an option.
        "strike": float(instrument.strike) if instrument.strike is not None else -1.0,
        "lotsize": instrument.lot_size,
        "instrumenttype": instrument.instrument_type,
        "tick_size": float(instrument.tick_size),
        "freeze_qty": instrument.freeze_qty or 0,
    }


class ReferenceView(BrokerReadView):
    def broker_name(self, request: Request, data: dict[str, Any]) -> str | None:
        # Reference data needs no broker: a user without an account still gets OpenAlgo's names.
        try:
            return self.adapter(request, data).name
        except NoTradingAccount:
            if data.get("account"):
                raise
            return None

    def tokens(self, broker: str | None, instruments: list[Instrument]) -> dict[int, BrokerToken]:
        if broker is None:
            return {}
        rows = BrokerToken.objects.filter(broker=broker, instrument__in=[i.pk for i in instruments])
        return {row.instrument_id: row for row in rows}


class SymbolView(ReferenceView):
    serializer_class = shapes.InstrumentRequest

    def handle(self, request: Request, data: dict[str, Any]) -> Response:
        instrument = get_instrument(data["exchange"], data["symbol"])
        if instrument is None:
            raise ApiError(f"Symbol {data['symbol']} not found in exchange {data['exchange']}", 404)
        token = self.tokens(self.broker_name(request, data), [instrument]).get(instrument.pk)
        return self.success(request, data=symbol_dict(instrument, token))


class SearchRequest(shapes.AccountRequest):
    query = serializers.CharField(max_length=64)
    exchange = shapes.ExchangeField(required=False)


class SearchView(ReferenceView):
    serializer_class = SearchRequest

    def handle(self, request: Request, data: dict[str, Any]) -> Response:
        found = search(data["query"], data.get("exchange"), limit=SEARCH_LIMIT)
        tokens = self.tokens(self.broker_name(request, data), found) if found else {}
        rows = [symbol_dict(i, tokens.get(i.pk)) for i in found]
        message = f"Found {len(rows)} matching symbols" if rows else "No matching symbols found"
        return self.success(request, message=message, data=rows)


class ExpiryRequest(shapes.AccountRequest):
    symbol = shapes.SymbolField()
    exchange = shapes.ExchangeField(choices=DERIVATIVE_EXCHANGES)
    instrumenttype = serializers.ChoiceField(choices=["futures", "options"], error_messages={
        "invalid_choice": "must be futures or options."})

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, dict) and isinstance(data.get("instrumenttype"), str):
            data = {**data, "instrumenttype": data["instrumenttype"].strip().lower()}
        return super().to_internal_value(data)


class ExpiryView(OpenAlgoView):
    """Expiries still to come (an expired contract can linger in the master for a few days)."""

    serializer_class = ExpiryRequest

    def handle(self, request: Request, data: dict[str, Any]) -> Response:
        today = dt.datetime.now(shapes.IST).date()
        dates = [d for d in expiries(data["symbol"], data["exchange"], data["instrumenttype"])
                 if dt.datetime.strptime(d, "%d-%b-%y").date() >= today]
        what = f"{data['symbol']} {data['instrumenttype']} in {data['exchange']}"
        message = f"Found {len(dates)} expiry dates for {what}" if dates else f"No expiry dates found for {what}"
        return self.success(request, message=message, data=dates)


urlpatterns = [
    re_path(r"^symbol/?$", SymbolView.as_view(), name="symbol"),
    re_path(r"^search/?$", SearchView.as_view(), name="search"),
    re_path(r"^expiry/?$", ExpiryView.as_view(), name="expiry"),
]
