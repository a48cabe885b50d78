"""Orders made of orders: smart (to a target net position), basket, split; and closing positions.

Each child order goes through pipeline.place(), so it is risk-checked (split: once for all its
children), recorded and timed like any order.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from decimal import Decimal
from time import perf_counter
from typing import Any

from brokers.adapters.base import OrderSpec
from trading.models import Action, EventLevel, Order, OrderKind, OrderSource, OrderStatus, PriceType
from trading.services import pipeline, records
from trading.services.errors import TradingError
from trading.services.routing import Route, adapter_for_user

ZERO = Decimal("0")
log = logging.getLogger(__name__)


def plain(value: Decimal) -> int | float | str:
    """A quantity for a JSON answer: an int when whole (OpenAlgo's clients expect ints)."""
    return int(value) if value == value.to_integral_value() else str(value)


def _net_position(route: Route, exchange: str, symbol: str, product: str) -> Decimal:
    positions = pipeline._broker_call(route.adapter.positions, "")
    return sum((p.quantity for p in positions
                if p.exchange == exchange and p.symbol == symbol and p.product == product), ZERO)


# --- Smart order --------------------------------------------------------------------------------------
def smart_delta(spec: OrderSpec, target: Decimal, current: Decimal) -> tuple[str, Decimal] | None:
    """The order that moves `current` to `target` (None when they match), as OpenAlgo decides it."""
    if target == 0 and current == 0:
        return (spec.action, spec.quantity) if spec.quantity > 0 else None
    if target == current:
        return None
    return (Action.BUY, target - current) if target > current else (Action.SELL, current - target)


def place_smart(user: Any, spec: OrderSpec, target: Decimal, **kwargs: Any) -> Order | None:
    """Move the net position to `target`. Returns the order placed, or None when already matched."""
    if spec.client_order_id:
        first = Order.objects.filter(user=user, client_order_id=spec.client_order_id).first()
        if first is not None:
            return pipeline.repeat_of(user, spec.client_order_id)
    route = adapter_for_user(user, spec.account_name)
    current = _net_position(route, spec.exchange, spec.symbol, spec.product)
    delta = smart_delta(spec, target, current)
    if delta is None:
        return None
    action, quantity = delta
    return pipeline.place(user, spec.with_quantity(quantity, action, keep_id=True), route=route, **kwargs)


# --- Basket -------------------------------------------------------------------------------------------
def place_basket(user: Any, specs: list[OrderSpec], *, source: str = OrderSource.API,
                 api_key_id: int | None = None, pending: Any = None) -> list[dict[str, Any]]:
    """Place each leg, BUY legs before SELL legs (margin benefit), and report each leg's outcome.

    Every leg is validated (parse_basket) and routed before any is placed, so bad input places nothing;
    once a leg is placed the answer lists every leg's outcome, whatever happens to the others (a client
    that retried a failed answer would place the placed legs twice).

    The legs hang under a parent row (kind BASKET): a container, never sent to a broker, inserted as
    COMPLETE so it neither counts as an open order nor as one sent today while its legs are checked."""
    t0 = perf_counter()
    ordered = sorted(specs, key=lambda s: 0 if s.action == Action.BUY else 1)
    routes = {}
    for spec in specs:  # every leg's account (NoTradingAccount names it), before any leg is placed
        if spec.account_name not in routes:
            routes[spec.account_name] = adapter_for_user(user, spec.account_name)
    parent = _basket_parent(user, ordered[0], routes[ordered[0].account_name], source=source,
                            api_key_id=api_key_id, pending=pending)
    records.insert(parent)
    results = []
    for spec in ordered:
        row = {"symbol": spec.symbol, "exchange": spec.exchange, "product": spec.product}
        try:
            order = pipeline.place(user, spec, source=source, api_key_id=api_key_id, pending=pending, parent=parent,
                                   route=routes[spec.account_name])
            results.append({**row, "status": "success", "orderid": pipeline.orderid_of(order)})
        except TradingError as exc:
            results.append({**row, "status": "error", "message": exc.message})
        except Exception:
            log.exception("Basket %s: a leg failed on an internal error", parent.pk)
            results.append({**row, "status": "error", "message": pipeline.INTERNAL_ERROR})
    placed = sum(r["status"] == "success" for r in results)
    if not placed:
        parent.status, parent.rejection_reason = OrderStatus.REJECTED, "No leg of the basket was accepted."
    parent.overhead_ms = records.ms(perf_counter() - t0)
    records.save_fields(parent, ["status", "rejection_reason", "overhead_ms"])
    records.event(parent, f"Basket of {len(ordered)} orders; {placed} placed.",
                  EventLevel.INFO if placed == len(ordered) else EventLevel.WARNING)
    return results


def _basket_parent(user: Any, first: OrderSpec, route: Route, **fields: Any) -> Order:
    """The basket's container row: its strategy, the first leg's exchange and the route's account."""
    _, account, analyze = route
    return Order(user=user, account=account, is_analyze=analyze, kind=OrderKind.BASKET, strategy=first.strategy,
                 exchange=first.exchange, symbol="BASKET", action=first.action, quantity=ZERO,
                 status=OrderStatus.COMPLETE, **fields)


# --- Split ----------------------------------------------------------------------------------------------
def split_quantities(total: Decimal, size: Decimal) -> list[Decimal]:
    full, rest = divmod(total, size)
    return [size] * int(full) + ([rest] if rest else [])


def place_split(user: Any, spec: OrderSpec, size: Decimal, *, source: str = OrderSource.API,
                api_key_id: int | None = None, pending: Any = None,
                started: float | None = None) -> tuple[Order, list[dict[str, Any]]]:
    """Split into children of `size` under a parent row; risk is checked once for all the children,
    under the user's lock with their rows."""
    t0 = started if started is not None else perf_counter()
    if spec.client_order_id:
        first = Order.objects.filter(user=user, client_order_id=spec.client_order_id).first()
        if first is not None:
            return first, _child_results(first)
    route = adapter_for_user(user, spec.account_name)
    children = [spec.with_quantity(q) for q in split_quantities(spec.quantity, size)]
    # A container, never sent to a broker: recorded COMPLETE, so it is neither open nor sent today.
    parent = pipeline.new_order(user, spec, route, source=source, api_key_id=api_key_id, pending=pending,
                                kind=OrderKind.SPLIT, status=OrderStatus.COMPLETE)
    outcomes = pipeline.place_all(user, children, container=parent, route=route, started=t0, source=source,
                                  api_key_id=api_key_id, pending=pending)
    if isinstance(outcomes[0], Order) and outcomes[0].kind == OrderKind.SPLIT:  # a repeat: the first split
        return outcomes[0], _child_results(outcomes[0])
    results = []
    for number, (child, outcome) in enumerate(zip(children, outcomes, strict=True), start=1):
        row: dict[str, Any] = {"order_num": number, "quantity": plain(child.quantity)}
        if isinstance(outcome, TradingError):
            results.append({**row, "status": "error", "message": outcome.message})
        else:
            results.append({**row, "status": "success", "orderid": pipeline.orderid_of(outcome)})
    placed = sum(r["status"] == "success" for r in results)
    if not placed:
        parent.status, parent.rejection_reason = OrderStatus.REJECTED, "No child order was accepted."
    parent.overhead_ms = records.ms(perf_counter() - t0)
    records.save_fields(parent, ["status", "rejection_reason", "overhead_ms"])
    records.event(parent, f"Split into {len(children)} orders of {size}; {placed} placed.",
                  EventLevel.INFO if placed == len(children) else EventLevel.WARNING)
    return parent, results


def _child_results(parent: Order) -> list[dict[str, Any]]:
    rows = []
    for number, child in enumerate(parent.children.order_by("id"), start=1):
        row: dict[str, Any] = {"order_num": number, "quantity": plain(child.quantity)}
        if child.status == OrderStatus.REJECTED:
            rows.append({**row, "status": "error", "message": child.rejection_reason})
        else:
            rows.append({**row, "status": "success", "orderid": pipeline.orderid_of(child)})
    return rows


# --- Positions ------------------------------------------------------------------------------------------
def open_position(user: Any, exchange: str, symbol: str, product: str, account_name: str | None = None) -> Decimal:
    return _net_position(adapter_for_user(user, account_name), exchange, symbol, product)


def strategy_nets(user: Any, strategy: str, route: Route) -> dict[tuple[str, str, str], Decimal]:
    """Net filled quantity of one strategy's orders on this route, per (exchange, symbol, product)."""
    rows = Order.objects.filter(user=user, strategy=strategy, is_analyze=route.analyze, account=route.account,
                                filled_quantity__gt=0).values_list(
        "exchange", "symbol", "product", "action", "filled_quantity")
    nets: dict[tuple[str, str, str], Decimal] = defaultdict(lambda: ZERO)
    for exchange, symbol, product, action, filled in rows:
        nets[(exchange, symbol, product)] += filled if action == Action.BUY else -filled
    return nets


def close_positions(user: Any, strategy: str = "", *, strategy_only: bool = False, account_name: str | None = None,
                    source: str = OrderSource.API, api_key_id: int | None = None) -> tuple[list[Order], list[str]]:
    """Square off every open position with MARKET orders (only the strategy's share with strategy_only).

    Square-offs reduce risk, so only the kill switch and the calendar apply to them.
    """
    route = adapter_for_user(user, account_name)
    positions = pipeline._broker_call(route.adapter.positions, "")
    nets = strategy_nets(user, strategy, route) if strategy_only else None
    placed, failures, first_error = [], [], None
    for position in positions:
        quantity = position.quantity
        if nets is not None:
            mine = nets.get((position.exchange, position.symbol, position.product), ZERO)
            same_side = mine != 0 and (mine > 0) == (quantity > 0)
            quantity = (min(abs(mine), abs(quantity)) * (1 if quantity > 0 else -1)) if same_side else ZERO
        if quantity == 0:
            continue
        spec = OrderSpec(exchange=position.exchange, symbol=position.symbol, product=position.product,
                         action=Action.SELL if quantity > 0 else Action.BUY, quantity=abs(quantity),
                         price_type=PriceType.MARKET, strategy=strategy)
        try:
            placed.append(pipeline.place(user, spec, route=route, source=source, api_key_id=api_key_id,
                                         reduces_risk=True))
        except TradingError as exc:
            failures.append(f"{position.exchange}:{position.symbol}: {exc.message}")
            first_error = first_error or exc
    if first_error is not None and not placed:
        # Nothing closed: answer with the first failure's status (a refusal 400, a broker fault 500).
        raise TradingError("Failed to close positions: " + "; ".join(failures), first_error.kind)
    return placed, failures
