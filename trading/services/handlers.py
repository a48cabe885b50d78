"""OpenAlgo order requests end to end: a request body in, the success body of OpenAlgo's answer out.

The /api/v1/ views and the action center (approving a queued request) both call run(), so an approved
request is validated, risk-checked and placed exactly like a direct one. Failures raise TradingError.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from brokers.services import instruments
from trading.models import OrderSource, PendingApiType
from trading.services import pipeline, risk, smart
from trading.services.validation import parse_basket, parse_order, parse_smart_order, parse_split_order

MATCHED_MESSAGE = "Positions Already Matched. No Action needed."


def validate(api_type: str, payload: Mapping) -> None:
    """Validate a request without placing it (the action center validates before queuing)."""
    {PendingApiType.PLACE: parse_order, PendingApiType.SMART: parse_smart_order,
     PendingApiType.BASKET: parse_basket, PendingApiType.SPLIT: parse_split_order}[api_type](payload)


def run(api_type: str, user: Any, payload: Mapping, *, source: str = OrderSource.API, api_key_id: int | None = None,
        pending: Any = None, started: float | None = None, route: pipeline.Route | None = None,
        deployment: Any = None) -> dict[str, Any]:
    """`route` and `deployment` (placeorder only): a strategy deployment's orders go to its account or sandbox
    (strategies.services.fanout) and carry the deployment."""
    common = {"source": source, "api_key_id": api_key_id, "pending": pending, "started": started}
    if api_type == PendingApiType.PLACE:
        # The instrument (validation) and the risk limits, counter and analyze mode: one cache round trip.
        hits = risk.prefetch(user.pk, also=instruments.cache_keys(payload.get("exchange"), payload.get("symbol")))
        order = pipeline.place(user, parse_order(payload, read_ahead=hits), prefetched=hits, route=route,
                               deployment=deployment, **common)
        return {"orderid": pipeline.orderid_of(order)}
    if api_type == PendingApiType.SMART:
        spec, target = parse_smart_order(payload)
        order = smart.place_smart(user, spec, target, **common)
        if order is None:
            return {"message": MATCHED_MESSAGE}
        return {"orderid": pipeline.orderid_of(order)}
    if api_type == PendingApiType.BASKET:
        specs = parse_basket(payload)
        common.pop("started")
        return {"results": smart.place_basket(user, specs, **common)}
    if api_type == PendingApiType.SPLIT:
        spec, size = parse_split_order(payload)
        _, results = smart.place_split(user, spec, size, **common)
        return {"split_size": smart.plain(size), "total_quantity": smart.plain(spec.quantity), "results": results}
    raise ValueError(f"Unknown order request type {api_type!r}")
