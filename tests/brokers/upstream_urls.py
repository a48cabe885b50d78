"""A test-only URLconf that acts like an OpenAlgo server, backed by a small in-memory order book.

Served by pytest-django's live_server (a real HTTP server on a socket) with
`@pytest.mark.urls("tests.brokers.upstream_urls")`, so the adapter's real client, JSON and
keep-alive are exercised. MARKET orders fill at once at the LTP, LIMIT orders rest open, SL orders
wait as trigger pending.
"""
from __future__ import annotations

import json
import threading
import time
from decimal import Decimal, InvalidOperation
from functools import wraps

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

API_KEY = "upstream-test-key"
LTP = {("NSE", "SBIN"): Decimal("812.50"), ("NSE", "INFY"): Decimal("1850.00"), ("NSE", "SLOW"): Decimal("1"),
       ("NSE", "BOOM"): Decimal("1")}


class Book:
    """The server's state for one test."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.orders: dict[str, dict] = {}
        self.next_id = 1
        self.cash = Decimal("100000.00")
        self.requests = 0


book = Book()


def reset() -> None:
    global book
    book = Book()


def error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"status": "error", "message": message}, status=status)


def endpoint(view):
    @csrf_exempt
    @wraps(view)
    def wrapper(request: HttpRequest) -> JsonResponse:
        if request.method != "POST":
            return error("Method not allowed", 405)
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return error("Invalid JSON", 400)
        if body.get("apikey") != API_KEY:
            return error("Invalid openalgo apikey", 403)
        with book.lock:
            book.requests += 1
            return view(body)
    return wrapper


def _quantity(body: dict) -> Decimal | None:
    try:
        value = Decimal(str(body.get("quantity")))
    except InvalidOperation:
        return None
    return value if value > 0 and value == value.to_integral_value() else None


def _row(order: dict) -> dict:
    return {key: (str(value) if isinstance(value, Decimal) else value) for key, value in order.items()}


@endpoint
def placeorder(body: dict) -> JsonResponse:
    key = (body.get("exchange"), body.get("symbol"))
    if key not in LTP:
        return error(f"Symbol {body.get('symbol')!r} not found for exchange {body.get('exchange')!r}", 400)
    quantity = _quantity(body)
    if quantity is None:
        return error("Quantity must be a positive integer", 400)
    ltp, pricetype = LTP[key], body.get("pricetype", "MARKET")
    if body.get("action") == "BUY" and quantity * ltp > book.cash:
        return error("Insufficient funds", 400)
    order_id = f"2611230000{book.next_id:05d}"
    book.next_id += 1
    order = {"orderid": order_id, "action": body["action"], "exchange": key[0], "symbol": key[1],
             "quantity": quantity, "pricetype": pricetype, "product": body.get("product", "MIS"),
             "price": Decimal(body.get("price") or "0"), "trigger_price": Decimal(body.get("trigger_price") or "0"),
             "average_price": Decimal("0"), "order_status": "open", "timestamp": "23-Nov-2026 10:00:00"}
    if pricetype == "MARKET":
        order.update(order_status="complete", average_price=ltp)
        book.cash += (-1 if body["action"] == "BUY" else 1) * quantity * ltp
    elif pricetype in ("SL", "SL-M"):
        order["order_status"] = "trigger pending"
    book.orders[order_id] = order
    return JsonResponse({"status": "success", "orderid": order_id})


@endpoint
def modifyorder(body: dict) -> JsonResponse:
    order = book.orders.get(str(body.get("orderid")))
    if order is None:
        return error("Order not found", 404)
    if order["order_status"] not in ("open", "trigger pending"):
        return error(f"Order is {order['order_status']}, it cannot be modified", 400)
    order.update(quantity=_quantity(body) or order["quantity"], price=Decimal(body.get("price") or "0"))
    return JsonResponse({"status": "success", "orderid": order["orderid"]})


@endpoint
def cancelorder(body: dict) -> JsonResponse:
    order = book.orders.get(str(body.get("orderid")))
    if order is None:
        return error("Order not found", 404)
    if order["order_status"] not in ("open", "trigger pending"):
        return error(f"Order is {order['order_status']}, it cannot be cancelled", 400)
    order["order_status"] = "cancelled"
    return JsonResponse({"status": "success", "orderid": order["orderid"]})


@endpoint
def orderstatus(body: dict) -> JsonResponse:
    order = book.orders.get(str(body.get("orderid")))
    if order is None:
        return error("Order not found", 404)
    return JsonResponse({"status": "success", "data": _row(order)})


@endpoint
def orderbook(body: dict) -> JsonResponse:
    return JsonResponse({"status": "success", "data": {"orders": [_row(o) for o in book.orders.values()],
                                                       "statistics": {}}})


@endpoint
def positionbook(body: dict) -> JsonResponse:
    net: dict[tuple, Decimal] = {}
    for order in book.orders.values():
        if order["order_status"] == "complete":
            key = (order["exchange"], order["symbol"], order["product"])
            net[key] = net.get(key, Decimal(0)) + (1 if order["action"] == "BUY" else -1) * order["quantity"]
    return JsonResponse({"status": "success", "data": [
        {"exchange": e, "symbol": s, "product": p, "quantity": str(q), "average_price": str(LTP[(e, s)]),
         "ltp": str(LTP[(e, s)]), "pnl": "0.00"} for (e, s, p), q in net.items()]})


@endpoint
def funds(body: dict) -> JsonResponse:
    return JsonResponse({"status": "success", "data": {"availablecash": str(book.cash), "collateral": "0.00",
                                                       "m2mrealized": "0.00", "m2munrealized": "0.00",
                                                       "utiliseddebits": "0.00"}})


@endpoint
def quotes(body: dict) -> JsonResponse:
    symbol = body.get("symbol")
    if symbol == "SLOW":
        time.sleep(1.0)  # longer than the test's read timeout
    if symbol == "BOOM":
        return error("Broker session expired", 500)
    ltp = LTP.get((body.get("exchange"), symbol))
    if ltp is None:
        return error("Symbol not found", 400)
    return JsonResponse({"status": "success", "data": {"ltp": str(ltp), "open": "800", "high": "815", "low": "799",
                                                       "prev_close": "805", "bid": str(ltp - Decimal("0.05")),
                                                       "ask": str(ltp + Decimal("0.05")), "volume": 1000}})


@endpoint
def ping(body: dict) -> JsonResponse:
    return JsonResponse({"status": "success", "data": {"message": "pong", "broker": "upstream-test"}})


urlpatterns = [path(f"api/v1/{view.__name__}", view) for view in
               (placeorder, modifyorder, cancelorder, orderstatus, orderbook, positionbook, funds, quotes, ping)]
