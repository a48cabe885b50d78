"""Pre-trade risk: the user's RiskSettings and the market calendar, checked before any broker is called.

Two halves, so the checks hold under concurrent orders from many processes:

- before(): what needs no lock or may need the network: the kill switch and the calendar (on the
  cached limits), and the price a MARKET order is valued at (a quote: a broker call for a live
  account, so never inside a transaction).
- under_lock(): inside the transaction that records the order, after lock() took the user's
  RiskSettings row FOR NO KEY UPDATE: open orders, today's orders, order value, position value
  (the position plus the user's open and in-flight orders on the instrument in the order's
  direction) and today's loss, all read from the database's committed state. Every order of a user
  takes the same row lock before it reads or writes, so two orders of one user never pass their
  checks on the same state. On SQLite the IMMEDIATE transaction (settings) serializes writers already.

A limit of 0 turns that check off (the settings model allows 0 and "refuse everything" is the kill
switch's job). Costs under the lock: the lock itself, one count of open orders (a partial index),
the shared cache's counter of today's orders (read and bumped in one call), and, for live accounts
only, one query each for the position and for today's realized P&L.
"""
from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connections, router
from django.db.models import F, Q, Sum
from django.utils import timezone

from accounts.models import RiskSettings
from accounts.services.risk import cached_risk_settings, get_risk_settings, risk_settings_cache_key
from brokers.adapters.base import BrokerAdapter, BrokerError, OrderSpec
from trading.models import OPEN_STATUSES, Action, EventLevel, Order, OrderStatus, Position, PositionHistory, PriceType

ZERO = Decimal("0")
#: Orders that may still add to a position: open ones, and those whose broker answer was lost (they may
#: have filled; they are not open orders, item 5's UNKNOWN).
EXPOSED_STATUSES = (*OPEN_STATUSES, OrderStatus.UNKNOWN)


class Refusal(Exception):
    """A risk check said no; the message is the reason the client sees."""


@dataclass
class RiskResult:
    """What the checks noted on the way (recorded as order events) and the price the order is valued at."""

    limits: RiskSettings | None = None
    price: Decimal | None = None
    events: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def note(self, level: str, message: str, **data: Any) -> None:
        self.events.append((level, message, data))


def start_of_day(now: datetime | None = None) -> datetime:
    """Midnight in the platform's time zone, as an aware datetime (the key of today's order counter)."""
    local = timezone.localtime(now)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def prefetch(user_id: int, also: list[str] = ()) -> dict[str, Any]:
    """The cached limits, with the user's analyze mode for routing and the keys `also` names, in one
    cache round trip. Pass the result to before(); it is good for one order."""
    from accounts.services.usersettings import read_with_analyze_mode

    return read_with_analyze_mode(user_id, [risk_settings_cache_key(user_id), *also])


# --- Before the lock --------------------------------------------------------------------------------
def before(user_id: int, specs: list[OrderSpec], *, adapter: BrokerAdapter | None, is_analyze: bool,
           reduces_risk: bool = False, prefetched: dict[str, Any] | None = None) -> RiskResult:
    """The checks that read no state of the user's orders, and the price to value the order at.

    Raises Refusal. Runs outside any transaction: the price of a MARKET order may be a broker's quote."""
    result = RiskResult()
    hits = prefetch(user_id) if prefetched is None else prefetched
    limits = result.limits = cached_risk_settings(user_id, hits.get(risk_settings_cache_key(user_id)))
    _check_switch_and_calendar(limits, specs)
    if not reduces_risk and (limits.max_order_value > 0 or (limits.max_position_value > 0 and not is_analyze)):
        result.price = order_price(specs[0], adapter, result)
    return result


def _check_switch_and_calendar(limits: RiskSettings, specs: list[OrderSpec]) -> None:
    if not limits.trading_enabled:
        raise Refusal("Trading is disabled for this user (risk kill switch).")
    if settings.ENFORCE_MARKET_HOURS and not limits.allow_after_market_orders:
        from trading.services.calendar import check_market_open

        for exchange in sorted({spec.exchange for spec in specs}):
            reason = check_market_open(exchange)
            if reason:
                raise Refusal(f"Market closed for {exchange}: {reason}")


def order_price(spec: OrderSpec, adapter: BrokerAdapter | None, result: RiskResult) -> Decimal | None:
    """The price to value the order at: its limit price, its trigger for SL-M, else the LTP."""
    if spec.price_type in (PriceType.LIMIT, PriceType.SL) and spec.price > 0:
        return spec.price
    if spec.price_type == PriceType.SL_M and spec.trigger_price > 0:
        return spec.trigger_price
    if spec.price > 0:
        return spec.price
    if adapter is None:
        return None
    try:
        ltp = adapter.quotes(spec.exchange, spec.symbol).ltp
    except BrokerError as exc:
        result.note(EventLevel.WARNING, "No price for the order value check; it was skipped.", error=exc.message)
        return None
    if not ltp or ltp <= 0:
        result.note(EventLevel.WARNING, "No price for the order value check; it was skipped.")
        return None
    return ltp


# --- Under the lock ---------------------------------------------------------------------------------
_LOCK_SQL: dict[str, str] = {}


def lock(user_id: int) -> None:
    """Take the user's risk lock (call inside transaction.atomic): their RiskSettings row, FOR NO KEY
    UPDATE, held until the transaction ends. It excludes the user's other orders and changes of the
    limits (update_risk_settings locks the row too), not inserts of rows that refer to the user (they
    take KEY SHARE). On SQLite, whose transactions here are IMMEDIATE, the transaction is the lock.

    Written as SQL once per database vendor (names from the model, quoted): it runs on every order,
    and the ORM's compiling of it cost more than the statement."""
    connection = connections[router.db_for_write(RiskSettings)]
    if not connection.features.has_select_for_update:
        return
    sql = _LOCK_SQL.get(connection.vendor)
    if sql is None:
        qn = connection.ops.quote_name
        table, user = qn(RiskSettings._meta.db_table), qn(RiskSettings._meta.get_field("user").column)
        no_key = " NO KEY" if connection.features.has_select_for_no_key_update else ""
        sql = _LOCK_SQL[connection.vendor] = f"SELECT 1 FROM {table} WHERE {user} = %s FOR{no_key} UPDATE"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id])
        if cursor.fetchone() is None:  # a user made before the row was: made once, then locked
            get_risk_settings(user_id)
            cursor.execute(sql, [user_id])


def under_lock(user_id: int, specs: list[OrderSpec], result: RiskResult, *, account_id: int | None,
               is_analyze: bool, reduces_risk: bool = False) -> None:
    """Check one order (or the legs of one split) against the user's state. Raises Refusal.

    Call with the lock held (lock()), before the order's own rows are written. An order that passes
    counts as sent today at once (the counter is bumped here): release_today() undoes that when the
    transaction does not commit. `reduces_risk` (square-offs) skips the limits that would trap a trader
    in a position: only the kill switch and the calendar apply (checked by before()).

    The limits are those before() read: a change of them waits for the lock, so it applies from the
    next order on."""
    limits = result.limits
    if reduces_risk:
        return
    if limits.max_open_orders:
        open_now = open_orders(user_id)
        if open_now + len(specs) > limits.max_open_orders:
            raise Refusal(f"Too many open orders: {open_now} open, the limit is {limits.max_open_orders}.")
    price = result.price
    if limits.max_order_value > 0 and price is not None:
        for spec in specs:
            if spec.quantity * price > limits.max_order_value:
                raise Refusal(f"Order value {(spec.quantity * price):.2f} exceeds the limit of "
                              f"{limits.max_order_value:.2f} per order.")
    if limits.max_position_value > 0 and account_id is not None and price is not None:
        _check_position_value(user_id, account_id, specs, limits, price)
    if limits.daily_loss_limit > 0 and not is_analyze:
        # Live accounts only: the sandbox keeps its own P&L, and a paper loss should not stop live trading.
        loss = -todays_pnl(user_id, specs[0].exchange)
        if loss >= limits.daily_loss_limit:
            kind = "realized and unrealized" if settings.RISK_DAILY_LOSS_INCLUDES_UNREALIZED else "realized"
            raise Refusal(f"Daily loss limit reached: today's {kind} loss {loss:.2f} is at or over "
                          f"{limits.daily_loss_limit:.2f}.")
    _count_today(user_id, len(specs), limits)


def _check_position_value(user_id: int, account_id: int, specs: list[OrderSpec], limits: RiskSettings,
                          price: Decimal) -> None:
    """The position this order can leave in a live account, valued at the order's price, within the limit.

    The exposure counts the position and what the user's open, in-flight and unconfirmed orders on the
    instrument in the order's direction may still add (PENDING rows are in-flight orders: inserted under this lock
    before the broker is called). (Sandbox positions are the sandbox's: its margin rules bound them.)"""
    spec = specs[0]
    same = {"user_id": user_id, "account_id": account_id, "exchange": spec.exchange, "symbol": spec.symbol,
            "product": spec.product}
    # The orders first, then the position: each statement reads what was committed when it began, and
    # a remote broker's fill moves an order's quantity into the position in one commit (pipeline.send).
    # Read in this order, a fill committing in between is counted twice (refused early), never missed.
    waiting = Order.objects.filter(**same, action=spec.action, status__in=EXPOSED_STATUSES).aggregate(
        rest=Sum(F("quantity") - F("filled_quantity")))["rest"] or ZERO
    net = Position.objects.filter(**same).values_list("net_quantity", flat=True).first() or ZERO
    sign = 1 if spec.action == Action.BUY else -1
    total = sum((s.quantity if s.action == Action.BUY else -s.quantity for s in specs), ZERO)
    after = abs(net + sign * waiting + total)
    if after <= abs(net):
        return  # the order reduces the position
    if after * price > limits.max_position_value:
        raise Refusal(f"Position value {(after * price):.2f} would exceed the limit of "
                      f"{limits.max_position_value:.2f} per position (the position and open orders included).")


def todays_pnl(user_id: int, exchange: str, at: datetime | None = None) -> Decimal:
    """The user's P&L of the exchange's trading day in live accounts: what fills realized since the day
    began (PositionHistory keeps each fill's realized P&L), plus, with the setting
    RISK_DAILY_LOSS_INCLUDES_UNREALIZED, the unrealized P&L of the open positions.

    Positions' own realized_pnl is lifetime: it is not what the day lost."""
    from trading.services.calendar import trading_day_start

    start = trading_day_start(exchange, at)
    # Only positions touched today can have a fill today: position_user_updated narrows the join.
    realized = PositionHistory.objects.filter(
        position__user_id=user_id, position__account__isnull=False, position__updated_at__gte=start,
        created_at__gte=start).aggregate(total=Sum("realized_pnl"))["total"] or ZERO
    if not settings.RISK_DAILY_LOSS_INCLUDES_UNREALIZED:
        return realized
    unrealized = Position.objects.filter(user_id=user_id, account__isnull=False).exclude(
        net_quantity=0).aggregate(total=Sum("unrealized_pnl"))["total"] or ZERO
    return realized + unrealized


_OPEN_COUNT_SQL: dict[str, str] = {}


def open_orders(user_id: int) -> int:
    """The user's open orders (OPEN_STATUSES, PENDING ones included), served by the partial index.

    The same query as Order.objects.filter(user_id=..., status__in=OPEN_STATUSES).count(), written
    once per database vendor: it runs on every order, and compiling it through the ORM cost more
    than the query itself."""
    connection = connections[router.db_for_read(Order)]
    sql = _OPEN_COUNT_SQL.get(connection.vendor)
    if sql is None:
        qn = connection.ops.quote_name
        table = qn(Order._meta.db_table)
        user = f"{table}.{qn(Order._meta.get_field('user').column)}"
        status = f"{table}.{qn(Order._meta.get_field('status').column)}"
        statuses = ", ".join(["%s"] * len(OPEN_STATUSES))
        # Identifiers from the model's meta, quoted; every value is a parameter.
        sql = f"SELECT COUNT(*) FROM {table} WHERE {user} = %s AND {status} IN ({statuses})"  # noqa: S608
        _OPEN_COUNT_SQL[connection.vendor] = sql
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id, *(str(s) for s in OPEN_STATUSES)])
        return cursor.fetchone()[0]


# --- Today's order counter --------------------------------------------------------------------------
_day: tuple[Any, datetime, datetime, str] | None = None  # (zone, start, end, YYYYMMDD) of the local day


def _today_stamp() -> str:
    """Today's date in the platform's time zone as YYYYMMDD. Read on every order, so the zone
    conversion runs once a day: the stamp is kept with the day's bounds and recomputed outside them."""
    global _day
    now, zone = timezone.now(), timezone.get_current_timezone()
    day = _day
    if day is None or day[0] is not zone or not day[1] <= now < day[2]:
        start = start_of_day(now)
        # 25 hours on is always inside the next day, DST or not: its midnight ends this one.
        day = _day = (zone, start, start_of_day(start + timedelta(hours=25)), f"{start:%Y%m%d}")
    return day[3]


def _today_key(user_id: int) -> str:
    return f"trading:orders-today:{user_id}:{_today_stamp()}"


def _count_from_table(user_id: int) -> int:
    # Rows that reached the broker call (broker_ms set) or are on their way (PENDING); risk refusals and
    # split parents never reach it.
    return Order.objects.filter(Q(user_id=user_id, placed_at__gte=start_of_day()) & (
        Q(broker_ms__isnull=False) | Q(status=OrderStatus.PENDING))).count()


def orders_today(user_id: int) -> int:
    """Orders the user sent towards a broker today: a counter in the shared cache, so the check costs
    the same on the thousandth order of the day as on the first; rebuilt from the table when missing."""
    count = cache.get(_today_key(user_id))
    if count is None:
        count = _count_from_table(user_id)
        cache.add(_today_key(user_id), count, 2 * 24 * 3600)
    return int(count)


def _count_today(user_id: int, new_orders: int, limits: RiskSettings) -> None:
    """Count the new orders as sent today and refuse them past max_orders_per_day.

    Read and bumped in one call (incr answers the new value) under the user's lock: every bump happens
    under it, so the counter never runs behind the orders that passed."""
    key = _today_key(user_id)
    try:
        after = cache.incr(key, new_orders)
    except ValueError:  # not cached: rebuilt from the table (this order is not in it yet)
        after = _count_from_table(user_id) + new_orders
        cache.set(key, after, 2 * 24 * 3600)
    if limits.max_orders_per_day and after > limits.max_orders_per_day:
        release_today(user_id, new_orders)
        raise Refusal(f"Daily order limit reached: {after - new_orders} orders today, the limit is "
                      f"{limits.max_orders_per_day}.")


def release_today(user_id: int, orders: int = 1) -> None:
    """Take back orders counted by under_lock() whose transaction did not commit."""
    with suppress(ValueError):
        cache.decr(_today_key(user_id), orders)
