"""Placing, modifying and cancelling sandbox orders. Each is one transaction under the user's funds lock.

Rejections are raised as brokers' OrderRejected (permanent) with the reason, and a rejected order is
kept in the sandbox's order book, as a broker keeps it.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.cache import cache
from django.db import connections, router

from brokers.adapters.base import OrderNotFound, OrderRejected, OrderSpec
from sandbox.models import (
    RESTING,
    Action,
    OrderStatus,
    PriceType,
    Product,
    SandboxConfig,
    SandboxHolding,
    SandboxOrder,
    SandboxPosition,
    group_of,
)
from sandbox.services import config as config_service
from sandbox.services import instruments, prices, tradebook
from sandbox.services.config import get_config
from sandbox.services.fills import (
    HoldingsShort,
    evaluate,
    execute,
    fill_quantity,
    locked_position,
    make_id,
    new_position,
    prepare_fill,
)
from sandbox.services.funds import (
    InsufficientFunds,
    block,
    checkpoint,
    locked_funds,
    release,
    restore,
)
from sandbox.services.margin import required
from sandbox.services.money import IST, ZERO, now, qty_text
from trading.services.errors import InvalidOrder
from trading.services.validation import check_order

STOP_TYPES = (PriceType.SL, PriceType.SL_M)
QTY_PLACES = Decimal("0.0001")


class Rejection(Exception):
    """Why an order is refused (becomes OrderRejected once the rejected order is recorded)."""


def _check(order: OrderSpec, spec: instruments.InstrumentSpec) -> None:
    """The platform's one order check (trading's parser's rules, one message per kind), on the sandbox's
    own lot and tick size: an order handed over by the pipeline passed it already; one the sandbox
    builds (a square-off) or changes (a modification) passes it here."""
    try:
        check_order(order, lot_size=spec.lot_size, tick_size=spec.tick_size)
    except InvalidOrder as exc:
        raise Rejection(exc.message) from None


def _check_instrument(spec: instruments.InstrumentSpec, product: str) -> None:
    if spec.instrument_type == "INDEX":
        raise Rejection(f"symbol: {spec.symbol} is an index and cannot be traded.")
    if product == Product.CNC and (spec.is_future or spec.is_option):
        raise Rejection(f"CNC (delivery) is for cash-segment instruments; use NRML or MIS for {spec.symbol}")


def _check_cutoff(exchange: str, product: str, config: SandboxConfig, at: dt.datetime) -> None:
    group = group_of(exchange)
    if product != Product.MIS or group is None:
        return
    cutoff = config.squareoff_time(group)
    if at.astimezone(IST).time() >= cutoff:
        raise Rejection(f"MIS orders on {exchange} are not accepted after the {cutoff:%H:%M} square-off")


def _reference_price(price_type: str, action: str, price: Decimal, trigger: Decimal,
                     quote: prices.PriceQuote) -> Decimal:
    """The price margin is computed at: the fill price for MARKET, the limit for LIMIT, the trigger for stops."""
    if price_type == PriceType.MARKET:
        return quote.buy_price() if action == Action.BUY else quote.sell_price()
    if price_type == PriceType.LIMIT:
        return price
    return trigger


_SELLABLE_SQL: dict[str, str] = {}


def _holding_and_resting_sells(user_id: int, exchange: str, symbol: str) -> tuple[Decimal, Decimal]:
    """The user's holding of the instrument and the CNC sells of it still resting, in one statement.

    Written as SQL once per database vendor (names quoted by the connection): it runs on every
    delivery sell, and building it through the ORM (two subqueries) cost ten times the query."""
    connection = connections[router.db_for_read(SandboxOrder)]
    sql = _SELLABLE_SQL.get(connection.vendor)
    if sql is None:
        qn = connection.ops.quote_name
        holding, order = qn(SandboxHolding._meta.db_table), qn(SandboxOrder._meta.db_table)
        resting = ", ".join(["%s"] * len(RESTING))
        sql = _SELLABLE_SQL[connection.vendor] = (
            f"SELECT (SELECT {qn('quantity')} FROM {holding} WHERE {qn('user_id')} = %s AND {qn('exchange')} = %s "  # noqa: S608
            f"AND {qn('symbol')} = %s), "
            f"(SELECT SUM({qn('quantity')} - {qn('filled_quantity')}) FROM {order} WHERE {qn('user_id')} = %s "
            f"AND {qn('exchange')} = %s AND {qn('symbol')} = %s AND {qn('product')} = %s AND {qn('action')} = %s "
            f"AND {qn('status')} IN ({resting}))")
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id, exchange, symbol, user_id, exchange, symbol, Product.CNC, Action.SELL,
                             *RESTING])
        holding_qty, pending = cursor.fetchone()
    # SQLite answers numbers as int or float: through str, quantised to the quantity's places.
    return (Decimal(str(holding_qty or 0)).quantize(QTY_PLACES), Decimal(str(pending or 0)).quantize(QTY_PLACES))


def _check_delivery_sell(user_id: int, order: OrderSpec, position_qty: Decimal) -> None:
    holding, pending = _holding_and_resting_sells(user_id, order.exchange, order.symbol)
    sellable = holding + max(position_qty, ZERO) - pending
    if order.quantity > sellable:
        raise Rejection(f"CNC sell of {qty_text(order.quantity)} exceeds holdings: "
                        f"{qty_text(max(sellable, ZERO))} sellable")


def _margin_needed(config: SandboxConfig, order: OrderSpec | SandboxOrder, position_qty: Decimal, quantity: Decimal,
                   reference: Decimal, spec: instruments.InstrumentSpec | None = None) -> Decimal:
    if order.product == Product.CNC and order.action == Action.SELL:
        return ZERO  # a delivery sell only ever reduces (holdings or today's buys)
    spec = spec or instruments.spec(order.exchange, order.symbol)
    return required(config, spec, order.product, order.action, position_qty, quantity, reference)


def _record_rejection(user_id: int, order: OrderSpec, reason: str) -> SandboxOrder:
    return SandboxOrder.objects.create(
        user_id=user_id, order_id=make_id(), exchange=order.exchange, symbol=order.symbol, action=order.action,
        quantity=order.quantity, price_type=order.price_type, product=order.product, price=order.price,
        trigger_price=order.trigger_price, status=OrderStatus.REJECTED, rejection_reason=reason[:200],
        strategy=order.strategy[:64])


def lookups(exchange: str, symbol: str) -> tuple[SandboxConfig, instruments.InstrumentSpec,
                                                   prices.PriceQuote | None]:
    """The configuration, the instrument's spec and its cached quote: one cache round trip when the
    cache holds them (it usually does); each missing one is read the usual way (the quote later, by
    the caller, as only an order that passes the checks may ask a live account for it)."""
    keys = [config_service.CACHE_KEY, prices.cache_key(exchange, symbol), *instruments.cache_keys(exchange, symbol)]
    found = cache.get_many(keys)
    config = found.get(keys[0]) or get_config()
    spec = instruments.spec(exchange, symbol, read_ahead=found)
    return config, spec, found.get(keys[1])


def _fill_at_once(funds, placed: SandboxOrder, decision, config: SandboxConfig, position: SandboxPosition,
                  spec: instruments.InstrumentSpec) -> None:
    """Fill a new order in full now: it is inserted once, already filled (no insert-then-update, no
    savepoint: prepare_fill writes nothing before its checks pass). A fill the funds or holdings cannot
    cover records the order rejected, as execute() would."""
    placed.margin_blocked = ZERO
    if decision.triggered:
        placed.status = OrderStatus.OPEN
    state = checkpoint(funds)
    try:
        fill = prepare_fill(funds, placed, placed.quantity, decision.price, config, position=position, spec=spec)
    except (InsufficientFunds, HoldingsShort) as exc:
        restore(funds, state)
        placed.margin_blocked, placed.filled_quantity, placed.average_price = ZERO, ZERO, ZERO
        placed.status = OrderStatus.REJECTED
        placed.rejection_reason = f"{exc} (at fill)"[:200]
        placed.save(force_insert=True)
        return
    # The order, its position, trade and holding, and the funds with their ledger rows: one round trip
    # on PostgreSQL (the funds' block then finds nothing left to flush).
    fill.write(new_order=placed)


def _place_locked(user_id: int, order: OrderSpec, config: SandboxConfig, spec: instruments.InstrumentSpec,
                  quote: prices.PriceQuote) -> SandboxOrder:
    """The checks and writes under the funds lock. A refusal leaves the block as a value, not an
    exception, so the block needs no savepoint when it joins the caller's transaction (the trading
    pipeline runs the whole order in one): every refusal comes before the first write."""
    refusal = None
    with locked_funds(user_id, savepoint=False) as funds:
        position = locked_position(user_id, order)
        position_qty = position.quantity if position else ZERO
        try:
            if order.product == Product.CNC and order.action == Action.SELL:
                _check_delivery_sell(user_id, order, position_qty)
            reference = _reference_price(order.price_type, order.action, order.price, order.trigger_price, quote)
            need = _margin_needed(config, order, position_qty, order.quantity, reference, spec)
            if need > 0 and need > funds.available:  # reducing orders pass even on a negative balance
                raise Rejection(str(InsufficientFunds(need, funds.available)))
        except Rejection as exc:
            refusal = exc
        else:
            placed = SandboxOrder(
                user_id=user_id, order_id=make_id(), exchange=order.exchange, symbol=order.symbol,
                action=order.action, quantity=order.quantity, price_type=order.price_type, product=order.product,
                price=order.price, trigger_price=order.trigger_price, margin_blocked=need,
                status=OrderStatus.TRIGGER_PENDING if order.price_type in STOP_TYPES else OrderStatus.OPEN,
                strategy=order.strategy[:64])
            # An order that fills in full right now blocks its margin on the position it opens, so it
            # need not block and release it on itself first (need <= available was checked above).
            decision = evaluate(placed, quote, config, fresh=True, spec=spec)
            fills_now = decision.price is not None and fill_quantity(placed, quote, config) == placed.quantity
            position = position or new_position(user_id, order)
            if fills_now:
                _fill_at_once(funds, placed, decision, config, position, spec)
            else:
                placed.save(force_insert=True)
                block(funds, need, order=placed, note="order placed")
                execute(funds, placed, quote, config, fresh=True, position=position, spec=spec)
    if refusal is not None:
        raise refusal
    return placed


def place_order(user_id: int, order: OrderSpec, *, at: dt.datetime | None = None, squareoff: bool = False,
                looked_up: tuple | None = None) -> SandboxOrder:
    """Place an order in the user's sandbox. A MARKET order fills within the call; LIMIT and stop
    orders rest (OPEN / TRIGGER_PENDING) unless marketable. Raises OrderRejected with the reason."""
    at = at or now()
    config, spec, quote = looked_up or lookups(order.exchange, order.symbol)
    try:
        _check(order, spec)
        _check_instrument(spec, order.product)
        if not squareoff:
            _check_cutoff(order.exchange, order.product, config, at)
        # A live account's quote is a network call: a caller that places inside its transaction reads
        # it before (the adapter's prepare()) and passes looked_up; none is asked then.
        quote = quote or prices.get_quote(order.exchange, order.symbol, user_id=None if looked_up else user_id)
        if quote is None:
            raise Rejection(f"No price for {order.exchange}:{order.symbol} in the sandbox "
                            "(set one with manage.py prices set)")
        placed = _place_locked(user_id, order, config, spec, quote)
    except Rejection as exc:
        rejected = _record_rejection(user_id, order, str(exc))
        raise OrderRejected(str(exc), data={"order_id": rejected.order_id}) from None
    if placed.status == OrderStatus.REJECTED:
        raise OrderRejected(placed.rejection_reason, data={"order_id": placed.order_id})
    return placed


def _locked_order(user_id: int, order_id: str) -> SandboxOrder:
    order = SandboxOrder.objects.select_for_update().filter(user_id=user_id, order_id=order_id).first()
    if order is None:
        raise OrderNotFound(f"Order {order_id} not found in the sandbox.")
    if order.status not in RESTING:
        raise OrderRejected(f"Order {order_id} is {order.get_status_display().lower()} and can no longer change.")
    return order


def modify_order(user_id: int, order_id: str, *, quantity: Decimal, price_type: str, price: Decimal = ZERO,
                 trigger_price: Decimal = ZERO) -> SandboxOrder:
    """Change a resting order's quantity, type and prices. Its margin is recomputed; a change the funds
    cannot cover is refused and the order stays as it was. A modification that makes it marketable fills."""
    config = get_config()
    resting = SandboxOrder.objects.filter(user_id=user_id, order_id=order_id).values_list(
        "exchange", "symbol").first()
    # Read before the transaction: the quote may come from a live account (a network call).
    early_quote = prices.get_quote(*resting, user_id=user_id) if resting else None
    with locked_funds(user_id) as funds:
        order = _locked_order(user_id, order_id)
        spec = instruments.spec(order.exchange, order.symbol)
        try:
            _check(OrderSpec(order.exchange, order.symbol, order.action, quantity, price_type, order.product,
                             price=price, trigger_price=trigger_price), spec)
        except Rejection as exc:
            raise OrderRejected(str(exc)) from None
        if quantity <= order.filled_quantity:
            raise OrderRejected(f"Quantity {quantity} is not above the {order.filled_quantity} already filled")
        quote = early_quote or prices.stored_quote(order.exchange, order.symbol)
        if quote is None:
            raise OrderRejected(f"No price for {order.exchange}:{order.symbol} in the sandbox")
        release(funds, order.margin_blocked, order=order, note="order modified")
        was_triggered = order.price_type in STOP_TYPES and order.status == OrderStatus.OPEN
        order.quantity, order.price_type, order.price, order.trigger_price = quantity, price_type, price, trigger_price
        pending = price_type in STOP_TYPES and not was_triggered
        order.status = OrderStatus.TRIGGER_PENDING if pending else OrderStatus.OPEN
        reference = _reference_price(price_type, order.action, price, trigger_price, quote)
        position = locked_position(user_id, order)
        order.margin_blocked = _margin_needed(config, order, position.quantity if position else ZERO,
                                              order.remaining, reference, spec)
        try:
            block(funds, order.margin_blocked, order=order, note="order modified")
        except InsufficientFunds as exc:
            raise OrderRejected(f"Modification refused: {exc}") from None
        order.save()
        execute(funds, order, quote, config, fresh=True, position=position or new_position(user_id, order),
                spec=spec)
        tradebook.follow(user_id, [order], reason="sandbox_modify", why="modified")
    return order


def cancel_order(user_id: int, order_id: str, *, reason: str = "") -> SandboxOrder:
    """Cancel a resting order and release the margin it holds."""
    with locked_funds(user_id) as funds:
        order = _locked_order(user_id, order_id)
        release(funds, order.margin_blocked, order=order, note=reason or "order cancelled")
        order.margin_blocked = ZERO
        order.status = OrderStatus.CANCELLED
        if reason:
            order.rejection_reason = reason[:200]
        order.save(update_fields=["margin_blocked", "status", "rejection_reason", "updated_at"])
        tradebook.follow(user_id, [order], reason="sandbox_cancel", why=reason or "at the client's request")
    return order
