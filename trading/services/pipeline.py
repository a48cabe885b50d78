"""The order pipeline: validate -> risk -> route -> record, and the operations on placed orders.

place() keeps slow broker I/O outside database transactions: the PENDING row is inserted on its
own (autocommit), the broker is called, then the answer is written with one UPDATE. A broker that
lives in this database (the sandbox) is the exception: place_in_database() runs its fill, the order
row and its events in one transaction. Latency is split into validation (request start to just
before the broker), the broker round trip, and the platform's overhead (everything but the broker,
up to the final write: a row cannot hold the time of its own commit; the order views' Server-Timing
header carries the whole figure).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from time import monotonic, perf_counter, sleep
from typing import Any

from django.db import IntegrityError, transaction

from brokers.adapters import base as broker
from brokers.adapters.base import BrokerAdapter, ModifyRequest, OrderInfo
from brokers.models import TradingAccount
from brokers.services.accounts import adapter_for
from trading.models import EventLevel, Order, OrderSource, OrderStatus
from trading.services import deferred, reconcile, records, risk, timing
from trading.services.errors import BrokerFailure, BrokerRejected, OrderNotFound, RiskRefused, TradingError
from trading.services.routing import adapter_for_user, sandbox_adapter
from trading.services.validation import OrderSpec

log = logging.getLogger(__name__)

Route = tuple[BrokerAdapter, TradingAccount | None, bool]
REPEAT_WAIT_SECONDS = 5.0  # how long a repeated client_order_id waits for the first request's broker answer


def new_order(user: Any, spec: OrderSpec, route: Route, **extra: Any) -> Order:
    _, account, analyze = route
    return Order(
        user=user, account=account, is_analyze=analyze, strategy=spec.strategy,
        client_order_id=spec.client_order_id, exchange=spec.exchange, symbol=spec.symbol, action=spec.action,
        quantity=spec.quantity, price=spec.price, trigger_price=spec.trigger_price,
        disclosed_quantity=spec.disclosed_quantity, price_type=spec.price_type, product=spec.product, **extra)


def repeat_of(user: Any, client_order_id: str, *, wait: float = REPEAT_WAIT_SECONDS) -> Order:
    """The user's first order with this idempotency key; a refused one is refused again, unchanged.

    A repeat that races the first request finds it still PENDING (at the broker): it waits briefly
    for the broker's answer so both get the same order id, else answers 409 and places nothing. One
    whose broker answer was lost (UNKNOWN) is answered 409 at once: only the reconcile can settle it.
    """
    deadline = monotonic() + wait
    order = Order.objects.get(user=user, client_order_id=client_order_id)
    while order.status == OrderStatus.PENDING and monotonic() < deadline:
        sleep(0.02)
        order.refresh_from_db()
    if order.status == OrderStatus.UNKNOWN:
        raise TradingError(reconcile.awaiting_message(order), status=409)
    if order.status == OrderStatus.PENDING:
        raise TradingError(f"client_order_id: order {client_order_id!r} is still being placed; ask again shortly.",
                           status=409)
    if order.status == OrderStatus.REJECTED:
        raise RiskRefused(order.rejection_reason or "The order was rejected.", order_id=order.pk)
    return order


def place(user: Any, spec: OrderSpec, *, source: str = OrderSource.API, api_key_id: int | None = None,
          pending: Any = None, parent: Order | None = None, route: Route | None = None,
          started: float | None = None, check_risk: bool = True, reduces_risk: bool = False,
          prefetched: dict[str, Any] | None = None) -> Order:
    """Place one validated order. Returns the order (the first one for a repeated client_order_id).

    Raises RiskRefused or BrokerRejected (HTTP 400) and BrokerFailure (500) after recording the
    order as REJECTED with the reason.
    """
    t0 = started if started is not None else perf_counter()
    # The risk limits, today's counter and the analyze mode (routing) in one cache round trip (the
    # caller's, with the instrument, when it passes `prefetched`).
    if check_risk and prefetched is None:
        prefetched = risk.prefetch(user.pk)
    route = route or adapter_for_user(user, spec.account_name)
    adapter = route[0]
    order = new_order(user, spec, route, source=source, api_key_id=api_key_id, pending=pending, parent=parent)
    events: list[tuple[str, str, dict[str, Any]]] = []
    if check_risk:
        try:
            events += risk.check(user.pk, [spec], adapter=adapter, is_analyze=route[2], reduces_risk=reduces_risk,
                                 account_id=route[1].pk if route[1] else None, prefetched=prefetched).events
        except risk.Refusal as refusal:
            # Recorded, never silently dropped; a repeat of an accepted order still returns that order.
            order.status, order.rejection_reason = OrderStatus.REJECTED, str(refusal)
            order.validation_ms = records.ms(perf_counter() - t0)
            if records.insert(order) is None:
                return repeat_of(user, spec.client_order_id)
            records.event(order, f"Refused by risk checks: {refusal}", EventLevel.WARNING)
            raise RiskRefused(str(refusal), order_id=order.pk) from None
    order.validation_ms = records.ms(perf_counter() - t0)
    if adapter.runs_in_database:
        return place_in_database(user, spec, order, adapter, events, t0)
    if records.insert(order) is None:
        return repeat_of(user, spec.client_order_id)
    deferred.later(risk.count_sent, user.pk)  # today's counter: after the answer is sent
    t_broker = perf_counter()
    try:
        result = adapter.place_order(replace(spec.request(), reference=reconcile.reference(order)))
    except broker.OrderRejected as exc:
        fail(order, f"Rejected by the broker: {exc.message}", t0, t_broker, events)
        raise BrokerRejected(exc.message) from None
    except broker.BrokerError as exc:
        if exc.data.get("sent"):
            # The request may have reached the broker: the order is not known to be rejected. It awaits
            # confirmation (UNKNOWN) until the reconcile finds it in the broker's order book or gives up.
            unknown(order, exc.message, t0, t_broker, events)
            raise BrokerFailure(reconcile.awaiting_message(order)) from None
        fail(order, f"Broker error: {exc.message}", t0, t_broker, events)
        raise BrokerFailure(exc.message) from None
    except Exception:
        fail(order, "Internal error while sending the order; see the server log.", t0, t_broker, events)
        raise
    broker_s = perf_counter() - t_broker
    timing.add_broker_time(broker_s)
    fields = records.apply_result(order, result)
    level = EventLevel.WARNING if order.status == OrderStatus.REJECTED else EventLevel.INFO
    events.append((level, f"Sent to {adapter.name}: {order.get_status_display()}",
                   {"orderid": order.broker_order_id, "message": result.message}))
    order.broker_ms = records.ms(broker_s)
    # One commit for the answer and its events: on PostgreSQL each commit is a WAL flush.
    with transaction.atomic():
        records.add_events(order, events)
        order.overhead_ms = records.ms(perf_counter() - t0 - broker_s)
        records.save_fields(order, [*fields, "broker_ms", "overhead_ms"])
    if order.account_id and order.filled_quantity > 0:
        records.record_fill(order, order.filled_quantity, order.average_price)
    if order.status == OrderStatus.REJECTED:
        raise BrokerRejected(order.rejection_reason)
    return order


def place_in_database(user: Any, spec: OrderSpec, order: Order, adapter: BrokerAdapter,
                      events: list[tuple[str, str, dict[str, Any]]], t0: float) -> Order:
    """Place with a broker that lives in this database (the sandbox): the broker's writes, the order
    row and its events are one transaction, one commit. No PENDING row is needed first: nothing can
    be lost between the broker and the books. A repeated client_order_id makes the order's INSERT
    fail, which rolls the broker's fill back with it; the first order is returned."""
    t_broker = perf_counter()
    try:
        with transaction.atomic():
            refused = None
            try:
                result = adapter.place_order(spec.request())
            except broker.OrderRejected as exc:  # the broker keeps its rejected order: so do we
                result, refused = None, exc.message
                order.status, order.rejection_reason = OrderStatus.REJECTED, f"Rejected by the broker: {refused}"
                events.append((EventLevel.ERROR, order.rejection_reason, {}))
            broker_s = perf_counter() - t_broker
            timing.add_broker_time(broker_s)
            if result is not None:
                records.apply_result(order, result)
                level = EventLevel.WARNING if order.status == OrderStatus.REJECTED else EventLevel.INFO
                events.append((level, f"Sent to {adapter.name}: {order.get_status_display()}",
                               {"orderid": order.broker_order_id, "message": result.message}))
            order.broker_ms = records.ms(broker_s)
            order.overhead_ms = records.ms(perf_counter() - t0 - broker_s)
            records.insert_with_events(order, events)  # a repeated client_order_id fails here, undoing the fill
    except IntegrityError:
        if spec.client_order_id and Order.objects.filter(user=user, client_order_id=spec.client_order_id).exists():
            return repeat_of(user, spec.client_order_id)
        reject(order, "Internal error while sending the order; see the server log.", t0, t_broker, events)
        raise
    except broker.BrokerError as exc:  # nothing was written: the transaction rolled back
        reject(order, f"Broker error: {exc.message}", t0, t_broker, events)
        raise BrokerFailure(exc.message) from None
    except Exception:
        reject(order, "Internal error while sending the order; see the server log.", t0, t_broker, events)
        raise
    deferred.later(risk.count_sent, user.pk)  # today's counter: after the answer is sent
    if order.account_id and order.filled_quantity > 0:
        records.record_fill(order, order.filled_quantity, order.average_price)
    if order.status == OrderStatus.REJECTED:
        raise BrokerRejected(refused or order.rejection_reason)
    return order


def reject(order: Order, reason: str, t0: float, t_broker: float, events: list) -> None:
    """Record an order refused before any of it was written (an in-database broker's failure)."""
    broker_s = perf_counter() - t_broker
    order.pk, order._state.adding = None, True
    order.status, order.rejection_reason = OrderStatus.REJECTED, reason
    order.broker_ms = records.ms(broker_s)
    order.overhead_ms = records.ms(perf_counter() - t0 - broker_s)
    with transaction.atomic():
        if records.insert(order) is None:
            return
        records.add_events(order, [*events, (EventLevel.ERROR, reason, {})])


def fail(order: Order, reason: str, t0: float, t_broker: float, events: list) -> None:
    broker_s = perf_counter() - t_broker
    order.status, order.rejection_reason = OrderStatus.REJECTED, reason
    order.broker_ms = records.ms(broker_s)
    with transaction.atomic():
        order.overhead_ms = records.ms(perf_counter() - t0 - broker_s)
        records.save_fields(order, ["status", "rejection_reason", "broker_ms", "overhead_ms"])
        records.add_events(order, [*events, (EventLevel.ERROR, reason, {})])


def unknown(order: Order, reason: str, t0: float, t_broker: float, events: list) -> None:
    """The broker's answer was lost after the request left: the order awaits confirmation (UNKNOWN)."""
    broker_s = perf_counter() - t_broker
    order.status = OrderStatus.UNKNOWN
    order.broker_ms = records.ms(broker_s)
    maybe = "" if "may have reached" in reason else " The order may have reached it."
    message = f"No answer from the broker: {reason}{maybe} Awaiting confirmation from the broker's order book."
    with transaction.atomic():
        order.overhead_ms = records.ms(perf_counter() - t0 - broker_s)
        records.save_fields(order, ["status", "broker_ms", "overhead_ms"])
        records.add_events(order, [*events, (EventLevel.ERROR, message, {"reference": reconcile.reference(order)})])


def orderid_of(order: Order) -> str:
    return order.broker_order_id or str(order.pk)


# --- Operations on placed orders ------------------------------------------------------------------
def find_order(user: Any, orderid: str) -> Order | None:
    """The user's order with this broker id (never another user's)."""
    return (Order.objects.for_user(user).filter(broker_order_id=orderid).select_related("account")
            .order_by("-id").first())


def route_for(user: Any, order: Order | None) -> Route:
    """An order is changed where it was placed; an unknown id goes to the user's current route."""
    if order is None:
        return adapter_for_user(user)
    if order.is_analyze or order.account is None:
        return sandbox_adapter(user.pk), None, True
    return adapter_for(order.account), order.account, False


def _broker_call(call: Callable[[], Any], orderid: str) -> Any:
    try:
        return call()
    except broker.OrderNotFound:
        raise OrderNotFound(f"Order {orderid} not found") from None
    except broker.OrderRejected as exc:
        raise BrokerRejected(exc.message) from None
    except broker.NotSupported as exc:
        raise BrokerFailure(exc.message, status=501) from None
    except broker.BrokerError as exc:
        raise BrokerFailure(exc.message) from None


def cancel(user: Any, orderid: str, *, route: Route | None = None) -> str:
    order = find_order(user, orderid)
    adapter = (route or route_for(user, order))[0]
    _broker_call(lambda: adapter.cancel_order(orderid), orderid)
    if order is not None:
        order.status = OrderStatus.CANCELLED
        records.save_fields(order, ["status"])
        records.event(order, "Cancelled at the client's request.")
    return orderid


def modify(user: Any, change: ModifyRequest) -> str:
    order = find_order(user, change.order_id)
    adapter = route_for(user, order)[0]
    result = _broker_call(lambda: adapter.modify_order(change), change.order_id)
    if order is not None:
        order.quantity, order.price, order.trigger_price = change.quantity, change.price, change.trigger_price
        order.price_type, order.disclosed_quantity = change.price_type, change.disclosed_quantity
        records.save_fields(order, ["quantity", "price", "trigger_price", "price_type", "disclosed_quantity"])
        records.event(order, "Modified at the client's request.", quantity=str(change.quantity),
                      price=str(change.price), trigger_price=str(change.trigger_price), pricetype=change.price_type)
    return result.broker_order_id or change.order_id


def status(user: Any, orderid: str) -> tuple[OrderInfo, Order | None]:
    """The broker's view of the order; our row is refreshed when it changed."""
    order = find_order(user, orderid)
    adapter = route_for(user, order)[0]
    info = _broker_call(lambda: adapter.order_status(orderid), orderid)
    if order is not None and records.apply_info(order, info):
        records.save_fields(order, ["status", "filled_quantity", "average_price", "price", "quantity",
                                    "trigger_price", "rejection_reason", "executed_at"])
    return info, order


def cancel_all(user: Any, strategy: str = "", *, strategy_only: bool = False,
               account_name: str | None = None) -> tuple[list[str], list[dict[str, str]]]:
    """Cancel the open orders of the user's route; with strategy_only, only those tagged with `strategy`."""
    route = adapter_for_user(user, account_name)
    adapter = route[0]
    book = _broker_call(adapter.order_book, "")
    open_ids = [o.broker_order_id for o in book if records.status_of(o.status) in
                (OrderStatus.OPEN, OrderStatus.TRIGGER_PENDING, OrderStatus.PARTIALLY_FILLED)]
    if strategy_only:
        tagged = set(Order.objects.filter(user=user, strategy=strategy, broker_order_id__in=open_ids)
                     .values_list("broker_order_id", flat=True))
        open_ids = [i for i in open_ids if i in tagged]
    cancelled, failed = [], []
    for orderid in open_ids:
        try:
            cancel(user, orderid, route=route)
            cancelled.append(orderid)
        except (BrokerRejected, BrokerFailure, OrderNotFound) as exc:
            failed.append({"orderid": orderid, "message": exc.message})
    return cancelled, failed
