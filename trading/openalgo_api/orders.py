"""/api/v1/ order endpoints: OpenAlgo's paths, fields, answers and error shape.

Views are thin: they read the JSON body, send semi-auto keys' order requests to the action center,
and otherwise call the services in trading.services. Domain errors (TradingError) carry a kind; the
base view maps it to OpenAlgo's shape and status (STATUS_OF_KIND): 400 bad input, a risk refusal or a
broker's rejection; 404 unknown order; 500 a broker fault (with the broker's message, as OpenAlgo).

AlgoDesk extensions (optional body fields): `account` (a trading account by name instead of the
primary one), `client_order_id` (idempotency: a repeat returns the first order and places nothing),
`strategy_only` on cancelallorder/closeposition (only orders/positions of the given strategy).
"""
from __future__ import annotations

from time import perf_counter
from typing import Any

from django.urls import re_path
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Capability
from brokers.models import Exchange
from trading.models import PendingApiType, Product
from trading.openalgo_api import shapes
from trading.openalgo_api.base import ApiError, OpenAlgoView
from trading.services import deferred, handlers, pending, pipeline, smart, timing, validation


def _flag(body: dict, field: str) -> bool:
    value = body.get(field, False)
    if isinstance(value, str):
        value = value.strip().lower()
        if value in ("true", "1", "yes"):
            return True
        if value in ("", "false", "0", "no"):
            return False
    if isinstance(value, bool):
        return value
    raise ApiError(f"{field}: must be true or false.")


class OrderView(OpenAlgoView):
    """Reads the body itself (the services validate it) and times the request from the view's entry."""

    throttle_scope = "order"
    api_type: str | None = None

    def dispatch(self, request, *args, **kwargs):
        self.started = perf_counter()
        with timing.request_timer() as broker, deferred.collecting() as work:
            response = super().dispatch(request, *args, **kwargs)
            if hasattr(response, "render"):
                response.render()  # rendering is the platform's time too: measure it
        response["Server-Timing"] = timing.server_timing(perf_counter() - self.started, broker[0])
        if work:
            # The WSGI server closes the response once it has sent it; Django runs these closers then.
            response._resource_closers.append(lambda: deferred.run_all(work))
        return response

    def post(self, request: Request) -> Response:
        body = request.data
        if not isinstance(body, dict):
            raise ApiError("The request body must be a JSON object.")
        if self.api_type and request.auth.semi_auto:
            queued = pending.queue(request.user, self.api_type, body, api_key_id=request.auth.key_id)
            return Response(pending.queued_body(queued))
        return self.handle(request, body)

    def handle(self, request: Request, data: dict[str, Any]) -> Response:
        answer = handlers.run(self.api_type, request.user, data, api_key_id=request.auth.key_id,
                              started=self.started)
        return self.success(request, **answer)


class PlaceOrder(OrderView):
    api_type = PendingApiType.PLACE
    capability = Capability.PLACE


class PlaceSmartOrder(OrderView):
    api_type = PendingApiType.SMART
    capability = Capability.PLACE
    throttle_scope = "smart_order"


class BasketOrder(OrderView):
    api_type = PendingApiType.BASKET
    capability = Capability.PLACE


class SplitOrder(OrderView):
    api_type = PendingApiType.SPLIT
    capability = Capability.PLACE


class ModifyOrder(OrderView):
    capability = Capability.MANAGE

    def handle(self, request: Request, data: dict[str, Any]) -> Response:
        change = validation.parse_modify(data)
        return self.success(request, orderid=pipeline.modify(request.user, change))


class CancelOrder(OrderView):
    capability = Capability.MANAGE

    def handle(self, request: Request, data: dict[str, Any]) -> Response:
        validation.text(data, "strategy", required=False, max_length=100)
        orderid = validation.order_id(data)
        return self.success(request, orderid=pipeline.cancel(request.user, orderid))


class CancelAllOrder(OrderView):
    capability = Capability.MANAGE

    def handle(self, request: Request, data: dict[str, Any]) -> Response:
        strategy = validation.text(data, "strategy", required=False, max_length=100)
        only = _flag(data, "strategy_only")
        if only and not strategy:
            raise ApiError("strategy: is required with strategy_only.")
        account = validation.text(data, "account", required=False) or None
        cancelled, failed = pipeline.cancel_all(request.user, strategy, strategy_only=only, account_name=account)
        return self.success(request, canceled_orders=cancelled, failed_cancellations=failed,
                            message=f"Canceled {len(cancelled)} orders. Failed to cancel {len(failed)} orders.")


class ClosePosition(OrderView):
    capability = Capability.MANAGE

    def handle(self, request: Request, data: dict[str, Any]) -> Response:
        strategy = validation.text(data, "strategy", required=False, max_length=100)
        only = _flag(data, "strategy_only")
        if only and not strategy:
            raise ApiError("strategy: is required with strategy_only.")
        account = validation.text(data, "account", required=False) or None
        placed, failures = smart.close_positions(request.user, strategy, strategy_only=only, account_name=account,
                                                 api_key_id=request.auth.key_id)
        if failures:
            message = f"Squared off {len(placed)} position(s); failed: " + "; ".join(failures)
        elif placed:
            message = "All Open Positions Squared Off"
        else:
            message = "No Open Positions Found"
        return self.success(request, message=message)


class OrderStatusView(OrderView):
    throttle_scope = "api"

    def handle(self, request: Request, data: dict[str, Any]) -> Response:
        validation.text(data, "strategy", required=False, max_length=100)
        info, _ = pipeline.status(request.user, validation.order_id(data))
        # The same entry as in the order book, as OpenAlgo answers it.
        return self.success(request, data=shapes.order_dict(info))


class OpenPosition(OrderView):
    throttle_scope = "api"

    def handle(self, request: Request, data: dict[str, Any]) -> Response:
        validation.text(data, "strategy", required=False, max_length=100)
        exchange = validation.choice(data, "exchange", Exchange.values)
        symbol = validation.text(data, "symbol").upper()
        product = validation.choice(data, "product", Product.values)
        account = validation.text(data, "account", required=False) or None
        quantity = smart.open_position(request.user, exchange, symbol, product, account_name=account)
        return self.success(request, quantity=shapes.qty(quantity))


# OpenAlgo's clients post without a trailing slash; some bridges add one: accept both.
urlpatterns = [
    re_path(r"^placeorder/?$", PlaceOrder.as_view(), name="placeorder"),
    re_path(r"^placesmartorder/?$", PlaceSmartOrder.as_view(), name="placesmartorder"),
    re_path(r"^basketorder/?$", BasketOrder.as_view(), name="basketorder"),
    re_path(r"^splitorder/?$", SplitOrder.as_view(), name="splitorder"),
    re_path(r"^modifyorder/?$", ModifyOrder.as_view(), name="modifyorder"),
    re_path(r"^cancelorder/?$", CancelOrder.as_view(), name="cancelorder"),
    re_path(r"^cancelallorder/?$", CancelAllOrder.as_view(), name="cancelallorder"),
    re_path(r"^closeposition/?$", ClosePosition.as_view(), name="closeposition"),
    re_path(r"^orderstatus/?$", OrderStatusView.as_view(), name="orderstatus"),
    re_path(r"^openposition/?$", OpenPosition.as_view(), name="openposition"),
]
