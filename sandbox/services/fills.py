"""Fills: when an order fills and at what price, and what a fill does to the order, position and funds.

Fill rules: MARKET at the ask (BUY) or bid (SELL), else the LTP; a LIMIT marketable when placed at
the LTP; a resting LIMIT at its own price once the LTP crosses it; SL waits until the LTP reaches the
trigger and then fills at the LTP within its limit (else rests at its limit); SL-M fills at the LTP
once triggered. Slippage (basis points, adverse) applies to MARKET and SL-M fills.
"""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from core import sql
from sandbox.models import (
    Action,
    OrderStatus,
    PriceType,
    Product,
    SandboxConfig,
    SandboxHolding,
    SandboxOrder,
    SandboxPosition,
    SandboxTrade,
)
from sandbox.services import funds as funds_service
from sandbox.services import instruments
from sandbox.services.margin import leverage, margin
from sandbox.services.money import IST, ZERO, now, paisa, tick_down, tick_up
from sandbox.services.prices import PriceQuote

AVG_PLACES = Decimal("0.000000000001")  # 12 places: see SandboxPosition
BPS = Decimal("10000")
POSITION_FIELDS = tuple(f.name for f in sql.concrete_fields(SandboxPosition) if not f.primary_key)


class HoldingsShort(Exception):
    """A delivery sell found fewer shares than it sells (another sell got there first)."""


@dataclass(frozen=True)
class Decision:
    triggered: bool = False
    price: Decimal | None = None


def make_id(prefix: str = "") -> str:
    """A sortable id: the wall clock (IST) to the microsecond plus four random digits; the unique
    constraint backs it. The real clock, not timezone.now(), so tests that fix the time still get
    distinct ids."""
    return f"{prefix}{dt.datetime.now(IST):%y%m%d%H%M%S%f}{secrets.randbelow(10_000):04d}"


def _slipped(price: Decimal, action: str, config: SandboxConfig, tick: Decimal) -> Decimal:
    if not config.slippage_bps:
        return price
    if action == Action.BUY:
        return tick_up(price * (1 + config.slippage_bps / BPS), tick)
    return tick_down(price * (1 - config.slippage_bps / BPS), tick)


def _crosses(order: SandboxOrder, ltp: Decimal) -> bool:
    return ltp <= order.price if order.action == Action.BUY else ltp >= order.price


def evaluate(order: SandboxOrder, quote: PriceQuote, config: SandboxConfig, *, fresh: bool,
             spec: instruments.InstrumentSpec | None = None) -> Decision:
    """Whether `order` triggers and fills against `quote`, and at what price.

    `fresh` is True when the order was just placed or modified: a marketable limit then fills at the
    LTP rather than at its own price. `spec` is the instrument's, when the caller has it already."""
    tick = (spec or instruments.spec(order.exchange, order.symbol)).tick_size
    triggered = False
    if order.status == OrderStatus.TRIGGER_PENDING:
        hit = quote.ltp >= order.trigger_price if order.action == Action.BUY else quote.ltp <= order.trigger_price
        if not hit:
            return Decision()
        triggered = fresh = True
    if order.price_type == PriceType.MARKET:
        best = quote.buy_price() if order.action == Action.BUY else quote.sell_price()
        return Decision(triggered, _slipped(best, order.action, config, tick))
    if order.price_type == PriceType.SL_M:
        return Decision(triggered, _slipped(quote.ltp, order.action, config, tick))
    if not _crosses(order, quote.ltp):
        return Decision(triggered, None)
    return Decision(triggered, quote.ltp if fresh else order.price)


def fill_quantity(order: SandboxOrder, quote: PriceQuote, config: SandboxConfig) -> Decimal:
    """All that remains, or (partial fills on) no more than the quantity at the best price when known."""
    remaining = order.remaining
    if not config.partial_fills:
        return remaining
    available = quote.ask_qty if order.action == Action.BUY else quote.bid_qty
    return min(remaining, Decimal(available)) if available > 0 else remaining


def _lock_position(order: SandboxOrder) -> SandboxPosition:
    """The order's position locked for update, or a new one not saved yet (the fill saves it)."""
    position = locked_position(order.user_id, order)
    if position is None:
        # Safe without a race: every write to a user's books happens under their funds lock.
        position = new_position(order.user_id, order)
    return position


def locked_position(user_id: int, order) -> SandboxPosition | None:
    """The user's position in the order's instrument and product, locked for update; None if there is none."""
    return sql.locked_row(SandboxPosition, user_id=user_id, exchange=order.exchange, symbol=order.symbol,
                          product=order.product)


def new_position(user_id: int, order) -> SandboxPosition:
    """A flat position for the order's instrument and product, not saved yet."""
    return SandboxPosition(user_id=user_id, exchange=order.exchange, symbol=order.symbol, product=order.product)


def _apply_to_position(funds, position: SandboxPosition, order: SandboxOrder, quantity: Decimal, price: Decimal,
                       config: SandboxConfig, spec: instruments.InstrumentSpec | None = None) -> None:
    signed = quantity if order.action == Action.BUY else -quantity
    held = position.quantity
    refs = {"order": order, "position": position}
    if held and (held > 0) != (signed > 0):
        closing = min(quantity, abs(held))
        direction = 1 if held > 0 else -1
        realized = paisa(closing * (price - position.average_price) * direction)
        freed = (position.margin_blocked if closing == abs(held)
                 else paisa(position.margin_blocked * closing / abs(held)))
        # Release before booking the loss: the margin is the cash the loss is paid from.
        funds_service.release(funds, freed, note="position reduced", **refs)
        position.margin_blocked -= freed
        funds_service.credit_pnl(funds, realized, note=f"closed {closing} @ {price}", **refs)
        position.realized_pnl += realized
        position.quantity = held - direction * closing
        if position.quantity == 0:
            position.average_price = ZERO
        quantity -= closing
    if quantity > 0:
        spec = spec or instruments.spec(order.exchange, order.symbol)
        need = margin(quantity, price, leverage(config, spec, order.product, order.action))
        funds_service.block(funds, need, note="position opened", **refs)
        new_qty = position.quantity + (quantity if signed > 0 else -quantity)
        position.average_price = ((abs(position.quantity) * position.average_price + quantity * price)
                                  / abs(new_qty)).quantize(AVG_PLACES, rounding=ROUND_HALF_UP)
        position.quantity = new_qty
        position.margin_blocked += need


def _sell_from_holding(funds, order: SandboxOrder, quantity: Decimal, price: Decimal) -> SandboxHolding:
    """Stage the sale of `quantity` from the holding (locked here); Fill.write() saves or deletes it."""
    holding = (SandboxHolding.objects.select_for_update()
               .filter(user_id=order.user_id, exchange=order.exchange, symbol=order.symbol).first())
    if holding is None or holding.quantity < quantity:
        raise HoldingsShort(f"CNC sell of {quantity} exceeds holdings of {holding.quantity if holding else 0}")
    refs = {"order": order, "holding": holding}
    freed = (holding.margin_blocked if quantity == holding.quantity
             else paisa(holding.margin_blocked * quantity / holding.quantity))
    funds_service.release(funds, freed, note="holding sold", **refs)
    funds_service.credit_pnl(funds, paisa(quantity * (price - holding.average_price)),
                             note=f"sold {quantity} from holdings @ {price}", **refs)
    holding.quantity -= quantity
    holding.margin_blocked -= freed
    return holding


@dataclass
class Fill:
    """A fill worked out under the locks, nothing written yet: write() saves it after the order."""

    funds: object
    position: SandboxPosition
    holding: SandboxHolding | None
    trade: SandboxTrade

    def write(self, *, new_order: SandboxOrder | None = None) -> SandboxTrade:
        """Save the fill: the order first when it is `new_order` (else the caller saved it), then the
        position, the holding, the trade and the funds' staged changes, as one statement on PostgreSQL
        (core.sql). A holding that sells out is deleted after the ledger rows that refer to it."""
        first = [sql.Insert([new_order])] if new_order is not None else []
        position, holding = self.position, self.holding
        saved = sql.Insert([position]) if position.pk is None else sql.Update(position, POSITION_FIELDS)
        if holding is not None and holding.quantity == 0:
            sql.write([*first, saved, *funds_service.flush_operations(self.funds)])
            holding.delete()
            self.trade.save(force_insert=True)
            return self.trade
        ops = [*first, saved]
        if holding is not None:
            ops.append(sql.Update(holding, ("quantity", "margin_blocked", "updated_at")))
        sql.write([*ops, sql.Insert([self.trade]), *funds_service.flush_operations(self.funds)])
        return self.trade


def prepare_fill(funds, order: SandboxOrder, quantity: Decimal, price: Decimal, config: SandboxConfig,
                 at: dt.datetime | None = None, position: SandboxPosition | None = None,
                 spec: instruments.InstrumentSpec | None = None) -> Fill:
    """Fill `quantity` of a locked order at `price` in memory: the order, position and holding rows
    change and the funds' changes are staged, but nothing is written (Fill.write() does, after the
    caller saves the order). So a fill that fails needs no savepoint to undo.

    The caller holds the funds lock and the order lock (or is placing the order); this locks the
    position (unless the caller passes it, already locked, or a new one), then the holding. Raises
    InsufficientFunds or HoldingsShort before writing anything; the caller restores the staged funds."""
    at = at or now()
    remaining = order.remaining
    share = order.margin_blocked if quantity >= remaining else paisa(order.margin_blocked * quantity / remaining)
    funds_service.release(funds, share, order=order, note="order filled")
    order.margin_blocked -= share
    position = position or _lock_position(order)
    from_holdings = ZERO
    if order.product == Product.CNC and order.action == Action.SELL:
        from_holdings = max(quantity - max(position.quantity, ZERO), ZERO)
    if quantity - from_holdings > 0:
        _apply_to_position(funds, position, order, quantity - from_holdings, price, config, spec)
    position.last_fill_at = at
    holding = _sell_from_holding(funds, order, from_holdings, price) if from_holdings else None
    trade = SandboxTrade(
        user_id=order.user_id, trade_id=make_id("T"), order=order, exchange=order.exchange, symbol=order.symbol,
        action=order.action, product=order.product, quantity=quantity, price=price)
    filled = order.filled_quantity + quantity
    order.average_price = ((order.filled_quantity * order.average_price + quantity * price) / filled).quantize(
        Decimal("0.0001"), rounding=ROUND_HALF_UP)
    order.filled_quantity = filled
    if order.remaining <= 0:
        order.status = OrderStatus.COMPLETE
    return Fill(funds, position, holding, trade)


def reject_at_fill(funds, order: SandboxOrder, exc: Exception) -> None:
    """Reject an order whose fill the funds or holdings can no longer cover; release what it held."""
    funds_service.release(funds, order.margin_blocked, order=order, note="order rejected at fill")
    order.margin_blocked = ZERO
    order.status = OrderStatus.REJECTED
    order.rejection_reason = f"{exc} (at fill)"[:200]
    order.save()


def execute(funds, order: SandboxOrder, quote: PriceQuote, config: SandboxConfig, *, fresh: bool,
            position: SandboxPosition | None = None, spec: instruments.InstrumentSpec | None = None) -> int:
    """Try to fill a locked order (saved already) against a quote; save it. Returns the number of fills (0 or 1).

    A fill the funds can no longer cover (the position changed since the order was placed) rejects
    the order and releases what it held, as a broker's risk check would."""
    spec = spec or instruments.spec(order.exchange, order.symbol)
    decision = evaluate(order, quote, config, fresh=fresh, spec=spec)
    if decision.triggered:
        order.status = OrderStatus.OPEN
    if decision.price is None:
        if decision.triggered:
            order.save(update_fields=["status", "updated_at"])
        return 0
    state = funds_service.checkpoint(funds)
    try:
        fill = prepare_fill(funds, order, fill_quantity(order, quote, config), decision.price, config,
                            position=position, spec=spec)
    except (funds_service.InsufficientFunds, HoldingsShort) as exc:
        funds_service.restore(funds, state)  # nothing was written; undo the staged changes
        order.refresh_from_db()
        reject_at_fill(funds, order, exc)
        return 0
    order.save()
    fill.write()
    return 1
