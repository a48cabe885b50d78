"""The order pipeline: parse -> authorize -> check risk under the user's lock -> route -> record.

Entry points (docs/order-pipeline.md, "Reading one order through the code"): a request body goes to
trading.services.handlers.run(api_type, user, payload, *, source=..., api_key_id=..., ...), which parses
it (trading.services.validation, into brokers' OrderSpec) and calls place(user, spec, **kw) here; the
views and the action center have authorized it before (a semi-auto key's request waits for a person).

place_all() reads down the stages of one order (or of a split's children, checked as one):

1. route: the named or primary trading account's broker, or the sandbox in analyze mode;
2. before the lock: the kill switch, the calendar, and everything that needs the network (the
   price a MARKET order is valued at, an in-database broker's quote). No network call happens
   inside a database transaction;
3. under the user's lock (risk.lock(), a row lock held to the commit): the checks that read the
   user's state and the rows that change it, so concurrent orders of one user, from any process,
   are checked one after another. A remote broker's order is inserted PENDING (it counts as open
   and in the position's exposure while it is in flight); a broker that lives in this database
   (the sandbox) fills it here, whole, with the order row, its events and the books;
4. send: a remote broker is called after the commit, and its answer, events and fill are recorded
   in one transaction.

Latency is split into validation (request start to just before the broker), the broker round trip,
and the platform's overhead (everything but the broker, up to the final write: a row cannot hold the
time of its own commit; the order views' Server-Timing header carries the whole figure).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from time import monotonic, perf_counter, sleep
from typing import Any

from django.db import transaction

from brokers.adapters import base as broker
from brokers.adapters.base import BrokerAdapter, OrderInfo, OrderSpec
from brokers.services import health
from brokers.services.accounts import adapter_for
from trading.models import EventLevel, Order, OrderSource, OrderStatus
from trading.services import reconcile, records, risk, timing
from trading.services.errors import (
    BrokerFailure,
    BrokerRejected,
    ErrorKind,
    OrderNotFound,
    RiskRefused,
    TradingError,
    from_broker,
)
from trading.services.routing import Route, adapter_for_user, sandbox_adapter

log = logging.getLogger(__name__)

REPEAT_WAIT_SECONDS = 5.0  # how long a repeated client_order_id waits for the first request's broker answer


def new_order(user: Any, spec: OrderSpec, route: Route, **extra: Any) -> Order:
    return Order(
        user=user, account=route.account, is_analyze=route.analyze, strategy=spec.strategy,
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
        raise TradingError(reconcile.awaiting_message(order), ErrorKind.CONFLICT)
    if order.status == OrderStatus.PENDING:
        raise TradingError(f"client_order_id: order {client_order_id!r} is still being placed; ask again shortly.",
                           ErrorKind.CONFLICT)
    if order.status == OrderStatus.REJECTED:
        raise RiskRefused(order.rejection_reason or "The order was rejected.", order_id=order.pk)
    return order


def place(user: Any, spec: OrderSpec, *, source: str = OrderSource.API, api_key_id: int | None = None,
          pending: Any = None, parent: Order | None = None, route: Route | None = None,
          started: float | None = None, check_risk: bool = True, reduces_risk: bool = False,
          prefetched: dict[str, Any] | None = None, deployment: Any = None) -> Order:
    """Place one validated order. Returns the order (the first one for a repeated client_order_id).

    Raises RiskRefused or BrokerRejected (HTTP 400) and BrokerFailure (500) after recording the
    order as REJECTED with the reason.
    """
    outcome = place_all(user, [spec], source=source, api_key_id=api_key_id, pending=pending, parent=parent,
                        route=route, started=started, check_risk=check_risk, reduces_risk=reduces_risk,
                        prefetched=prefetched, deployment=deployment)[0]
    if isinstance(outcome, TradingError):
        raise outcome
    return outcome


def place_all(user: Any, specs: list[OrderSpec], *, source: str = OrderSource.API, api_key_id: int | None = None,
              pending: Any = None, parent: Order | None = None, container: Order | None = None,
              route: Route | None = None, started: float | None = None, check_risk: bool = True,
              reduces_risk: bool = False, prefetched: dict[str, Any] | None = None,
              deployment: Any = None) -> list[Order | TradingError]:
    """Place orders checked as one (one order, or the children of a split under `container`, a new
    parent row recorded with them): route, the checks that need no lock, then under the user's lock
    the checks of the user's state and the orders' rows, then the broker call of each.

    Returns each order, or the error it met at its broker. A refusal of the checks raises RiskRefused
    (recorded on the container, else on the order); a repeated client_order_id returns [the first
    order] (for a container: the first container)."""
    t0 = started if started is not None else perf_counter()
    # 1. Route: the named or primary trading account's broker, or the sandbox in analyze mode.
    route = route or adapter_for_user(user, specs[0].account_name)
    adapter, account, analyze = route.adapter, route.account, route.analyze
    # `deployment`: the strategy deployment (strategies.Deployment) placing the orders, recorded on each.
    orders = [new_order(user, spec, route, source=source, api_key_id=api_key_id, pending=pending,
                        parent=container or parent, deployment=deployment) for spec in specs]
    head = container or orders[0]  # the row that carries the idempotency key and a refusal
    # 2. Before the lock: the kill switch and the calendar, and whatever needs the network (the price a
    # MARKET order is valued at; an in-database broker's quote). No network call inside a transaction.
    checked = risk.RiskResult()
    try:
        if check_risk:
            checked = risk.before(user.pk, specs, adapter=adapter, is_analyze=analyze, reduces_risk=reduces_risk,
                                  prefetched=prefetched)
    except risk.Refusal as refusal:
        return [answer(refuse(user, head, str(refusal), t0, checked.events))]
    if adapter.runs_in_database:
        for spec in specs:
            adapter.prepare(spec)
    # 3. Under the user's lock: the checks of the user's state, then the rows that change it (PENDING
    # orders for a remote broker; an in-database broker's fills, whole).
    counted, refused, repeat = 0, None, False
    try:
        with transaction.atomic():
            risk.lock(user.pk)
            if head.client_order_id and Order.objects.filter(user=user, client_order_id=head.client_order_id).exists():
                repeat = True
            else:
                try:
                    if check_risk:
                        risk.under_lock(user.pk, specs, checked, account_id=account.pk if account else None,
                                        is_analyze=analyze, reduces_risk=reduces_risk)
                        counted = len(specs)
                except risk.Refusal as refusal:
                    refused = refuse(user, head, str(refusal), t0, checked.events)
                else:
                    if container is not None:
                        container.validation_ms = records.ms(perf_counter() - t0)
                        records.insert(container)
                    for order, spec in zip(orders, specs, strict=True):
                        order.validation_ms = records.ms(perf_counter() - t0)
                        if adapter.runs_in_database:
                            fill_in_database(order, spec, adapter, list(checked.events), t0)
                        else:
                            records.insert(order)
    except Exception as exc:
        risk.release_today(user.pk, counted)
        reason = f"Broker error: {exc.message}" if isinstance(exc, broker.BrokerError) else INTERNAL_ERROR
        for order in [head] if container is not None else orders:
            reject(order, reason, t0, perf_counter(), checked.events)
        if isinstance(exc, broker.BrokerError):
            raise from_broker(exc) from None
        raise
    if repeat:
        return [repeat_of(user, head.client_order_id)]
    if refused is not None:
        return [answer(refused)]
    # 4. Route to a remote broker, outside any transaction, and record each answer.
    if adapter.runs_in_database:
        return [in_database_outcome(order) for order in orders]
    return [send(order, spec, adapter, checked.events, t0) for order, spec in zip(orders, specs, strict=True)]


INTERNAL_ERROR = "Internal error while sending the order; see the server log."


def answer(outcome: Order | TradingError) -> list[Order]:
    if isinstance(outcome, TradingError):
        raise outcome
    return [outcome]


def refuse(user: Any, order: Order, reason: str, t0: float, events: list) -> Order | TradingError:
    """Record a refusal of the risk checks (never silently dropped) and return the error to raise. A
    repeat of an order already recorded returns what the first one got."""
    order.status, order.rejection_reason = OrderStatus.REJECTED, reason
    order.validation_ms = records.ms(perf_counter() - t0)
    if records.insert(order) is None:
        try:
            return repeat_of(user, order.client_order_id)
        except TradingError as exc:
            return exc
    records.add_events(order, [*events, (EventLevel.WARNING, f"Refused by risk checks: {reason}", {})])
    return RiskRefused(reason, order_id=order.pk)


def fill_in_database(order: Order, spec: OrderSpec, adapter: BrokerAdapter,
                     events: list[tuple[str, str, dict[str, Any]]], t0: float) -> None:
    """Place with a broker that lives in this database (the sandbox), inside the caller's transaction:
    the broker's writes, the order row with its events and a live account's fill are one commit."""
    t_broker = perf_counter()
    try:
        result = adapter.place_order(spec)
    except broker.OrderRejected as exc:  # the broker keeps its rejected order: so do we
        result = None
        order.status, order.rejection_reason = OrderStatus.REJECTED, f"Rejected by the broker: {exc.message}"
        events.append((EventLevel.ERROR, order.rejection_reason, {"message": exc.message}))
    broker_s = perf_counter() - t_broker
    timing.add_broker_time(broker_s)
    if result is not None:
        records.apply_result(order, result)
        level = EventLevel.WARNING if order.status == OrderStatus.REJECTED else EventLevel.INFO
        events.append((level, f"Sent to {adapter.name}: {order.get_status_display()}",
                       {"orderid": order.broker_order_id, "message": result.message}))
    order.broker_ms = records.ms(broker_s)
    order.overhead_ms = records.ms(perf_counter() - t0 - broker_s)
    records.insert_with_events(order, events)
    if order.account_id and order.filled_quantity > 0:  # in the same commit: the risk checks see it whole
        records.record_fill(order, order.filled_quantity, order.average_price)


def in_database_outcome(order: Order) -> Order | TradingError:
    if order.status == OrderStatus.REJECTED:
        return BrokerRejected(order.rejection_reason.removeprefix("Rejected by the broker: "))
    return order


def send(order: Order, spec: OrderSpec, adapter: BrokerAdapter, events: list, t0: float) -> Order | TradingError:
    """Send a PENDING order to a remote broker and record its answer (and fill) in one transaction."""
    events = list(events)
    t_broker = perf_counter()
    try:
        result = adapter.place_order(replace(spec, reference=reconcile.reference(order)))
    except broker.OrderRejected as exc:
        fail(order, f"Rejected by the broker: {exc.message}", t0, t_broker, events)
        if exc.data.get("session_expired") and order.account_id:
            health.note_session_expired(order.account, exc.message)  # the account needs a new login
        return BrokerRejected(exc.message)
    except broker.BrokerError as exc:
        if exc.data.get("sent"):
            # The request may have reached the broker: the order is not known to be rejected. It awaits
            # confirmation (UNKNOWN) until the reconcile finds it in the broker's order book or gives up.
            unknown(order, exc.message, t0, t_broker, events)
            return BrokerFailure(reconcile.awaiting_message(order))
        fail(order, f"Broker error: {exc.message}", t0, t_broker, events)
        return from_broker(exc)
    except Exception:
        fail(order, INTERNAL_ERROR, t0, t_broker, events)
        raise
    broker_s = perf_counter() - t_broker
    timing.add_broker_time(broker_s)
    fields = records.apply_result(order, result)
    level = EventLevel.WARNING if order.status == OrderStatus.REJECTED else EventLevel.INFO
    events.append((level, f"Sent to {adapter.name}: {order.get_status_display()}",
                   {"orderid": order.broker_order_id, "message": result.message}))
    order.broker_ms = records.ms(broker_s)
    # One commit for the answer, its events and its fill: the risk checks see the order open or its
    # fill in the position, never neither.
    with transaction.atomic():
        records.add_events(order, events)
        order.overhead_ms = records.ms(perf_counter() - t0 - broker_s)
        records.save_fields(order, [*fields, "broker_ms", "overhead_ms"])
        if order.account_id and order.filled_quantity > 0:
            records.record_fill(order, order.filled_quantity, order.average_price)
    if order.status == OrderStatus.REJECTED:
        return BrokerRejected(order.rejection_reason)
    return order


def reject(order: Order, reason: str, t0: float, t_broker: float, events: list) -> None:
    """Record an order refused before any of it was written (an in-database broker's failure): its
    transaction rolled back, so a key it may have been given names no row; it is inserted afresh."""
    broker_s = perf_counter() - t_broker
    order.pk = None
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
        return Route(sandbox_adapter(user.pk), None, True)
    return Route(adapter_for(order.account), order.account, False)


def _broker_call(call: Callable[[], Any], orderid: str) -> Any:
    try:
        return call()
    except broker.OrderNotFound:
        raise OrderNotFound(f"Order {orderid} not found") from None
    except broker.BrokerError as exc:
        raise from_broker(exc) from None


def cancel(user: Any, orderid: str, *, route: Route | None = None) -> str:
    order = find_order(user, orderid)
    adapter = (route or route_for(user, order)).adapter
    _broker_call(lambda: adapter.cancel_order(orderid), orderid)
    # An analyze-mode order's row already follows the sandbox (sandbox.services.tradebook), event included.
    if order is not None and not order.is_analyze:
        order.status = OrderStatus.CANCELLED
        records.save_fields(order, ["status"])
        records.event(order, "Cancelled at the client's request.")
    return orderid


def modify(user: Any, change: OrderSpec) -> str:
    order = find_order(user, change.order_id)
    adapter = route_for(user, order).adapter
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
    adapter = route_for(user, order).adapter
    info = _broker_call(lambda: adapter.order_status(orderid), orderid)
    if order is not None and records.apply_info(order, info):
        records.save_fields(order, ["status", "filled_quantity", "average_price", "price", "quantity",
                                    "trigger_price", "rejection_reason", "executed_at"])
    return info, order


def cancel_all(user: Any, strategy: str = "", *, strategy_only: bool = False,
               account_name: str | None = None) -> tuple[list[str], list[dict[str, str]]]:
    """Cancel the open orders of the user's route; with strategy_only, only those tagged with `strategy`."""
    route = adapter_for_user(user, account_name)
    adapter = route.adapter
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
