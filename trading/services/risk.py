"""Pre-trade risk: the user's RiskSettings and the market calendar, checked before any broker is called.

A limit of 0 turns that check off (the settings model allows 0 and "refuse everything" is the kill
switch's job). Costs: one query for the settings, one count of open orders (a partial index), a
cached counter of today's orders, one sum of today's realized P&L of live accounts (only when a
loss limit is set). The LTP for a
MARKET order's value comes from the adapter's quote; without one the value check is skipped and the
skip is recorded as an event.
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
from django.db.models import Q, Sum
from django.utils import timezone

from accounts.models import RiskSettings
from accounts.services.risk import cached_risk_settings, risk_settings_cache_key
from brokers.adapters.base import BrokerAdapter, BrokerError
from trading.models import OPEN_STATUSES, Action, EventLevel, Order, OrderStatus, Position, PriceType
from trading.services.validation import OrderSpec

ZERO = Decimal("0")


class Refusal(Exception):
    """A risk check said no; the message is the reason the client sees."""


@dataclass
class RiskResult:
    """What the checks noted on the way (recorded as order events)."""

    events: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def note(self, level: str, message: str, **data: Any) -> None:
        self.events.append((level, message, data))


def start_of_day(now: datetime | None = None) -> datetime:
    """Midnight in the platform's time zone (Indian exchanges: IST), as an aware datetime."""
    local = timezone.localtime(now)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def load_settings(user_id: int) -> RiskSettings:
    return cached_risk_settings(user_id)


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


def prefetch(user_id: int, also: list[str] = ()) -> dict[str, Any]:
    """What check() reads from the shared cache (the limits, today's counter), with the user's analyze
    mode for routing and the keys `also` names, in one round trip. Pass the result to check(); it is
    good for one check."""
    from accounts.services.usersettings import read_with_analyze_mode

    return read_with_analyze_mode(user_id, [risk_settings_cache_key(user_id), _today_key(user_id), *also])


def check(user_id: int, specs: list[OrderSpec], *, adapter: BrokerAdapter | None, is_analyze: bool,
          reduces_risk: bool = False, account_id: int | None = None,
          prefetched: dict[str, Any] | None = None) -> RiskResult:
    """Check one order (or the legs of one split) against the limits. Raises Refusal with the reason.

    `reduces_risk` (square-offs) skips the limits that would trap a trader in a position: only the
    kill switch and the calendar apply.
    """
    result = RiskResult()
    # One cache round trip for the limits and today's order counter.
    today_key = _today_key(user_id)
    hits = prefetch(user_id) if prefetched is None else prefetched
    limits = cached_risk_settings(user_id, hits.get(risk_settings_cache_key(user_id)))
    if not limits.trading_enabled:
        raise Refusal("Trading is disabled for this user (risk kill switch).")
    exchanges = {spec.exchange for spec in specs}
    if settings.ENFORCE_MARKET_HOURS and not limits.allow_after_market_orders:
        from trading.services.calendar import check_market_open

        for exchange in sorted(exchanges):
            reason = check_market_open(exchange)
            if reason:
                raise Refusal(f"Market closed for {exchange}: {reason}")
    if reduces_risk:
        return result
    _check_counts(user_id, len(specs), limits, hits.get(today_key))
    if limits.max_order_value > 0:
        for spec in specs:
            price = order_price(spec, adapter, result)
            if price is not None and spec.quantity * price > limits.max_order_value:
                raise Refusal(f"Order value {(spec.quantity * price):.2f} exceeds the limit of "
                              f"{limits.max_order_value:.2f} per order.")
    if limits.max_position_value > 0 and account_id is not None:
        _check_position_value(user_id, account_id, specs, limits, result, adapter)
    if limits.daily_loss_limit > 0 and not is_analyze:
        # Live accounts only: the sandbox keeps its own P&L, and a paper loss should not stop live trading.
        realized = Position.objects.filter(user_id=user_id, account__isnull=False,
                                           updated_at__gte=start_of_day()).aggregate(
            total=Sum("realized_pnl"))["total"] or ZERO
        if realized <= -limits.daily_loss_limit:
            raise Refusal(f"Daily loss limit reached: today's realized loss {-realized:.2f} is at or over "
                          f"{limits.daily_loss_limit:.2f}.")
    return result


def _check_position_value(user_id: int, account_id: int, specs: list[OrderSpec], limits: RiskSettings,
                          result: RiskResult, adapter: BrokerAdapter | None) -> None:
    """The position this order leaves in a live account, valued at the order's price, within the limit.
    (Sandbox positions are the sandbox's: its margin rules bound them.)"""
    spec = specs[0]
    net = Position.objects.filter(user_id=user_id, account_id=account_id, exchange=spec.exchange,
                                  symbol=spec.symbol, product=spec.product).values_list(
        "net_quantity", flat=True).first() or ZERO
    total = sum((s.quantity if s.action == Action.BUY else -s.quantity for s in specs), ZERO)
    after = abs(net + total)
    if after <= abs(net):
        return  # the order reduces the position
    price = order_price(spec, adapter, result)
    if price is not None and after * price > limits.max_position_value:
        raise Refusal(f"Position value {(after * price):.2f} would exceed the limit of "
                      f"{limits.max_position_value:.2f} per position.")


_day: tuple[Any, datetime, datetime, str] | None = None  # (zone, start, end, YYYYMMDD) of the local day


def _today_stamp() -> str:
    """Today's date in the platform's time zone as YYYYMMDD. Read three times per order, so the zone
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


def orders_today(user_id: int, cached: int | None = None) -> int:
    """Orders the user sent towards a broker today. A counter in the shared cache, so the check costs
    the same on the thousandth order of the day as on the first; rebuilt from the table when missing.
    `cached` is the counter's value when the caller already read it."""
    key = _today_key(user_id)
    count = cache.get(key) if cached is None else cached
    if count is None:
        # Rows that reached the broker call (broker_ms set) or are on their way (PENDING); risk
        # refusals and split parents never reach it.
        count = Order.objects.filter(Q(user_id=user_id, placed_at__gte=start_of_day()) & (
            Q(broker_ms__isnull=False) | Q(status=OrderStatus.PENDING))).count()
        cache.add(key, count, 2 * 24 * 3600)
    return int(count)


def count_sent(user_id: int) -> None:
    """Count one order sent today (called once its PENDING row is in)."""
    # Not cached (ValueError): the next check rebuilds it from the table, this order included.
    with suppress(ValueError):
        cache.incr(_today_key(user_id))


_OPEN_COUNT_SQL: dict[str, str] = {}


def open_orders(user_id: int) -> int:
    """The user's open orders (OPEN_STATUSES), served by the partial index of open orders.

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


def _check_counts(user_id: int, new_orders: int, limits: RiskSettings, today: int | None = None) -> None:
    if limits.max_open_orders:
        # Served by the partial index of open orders: small whatever the history.
        open_now = open_orders(user_id)
        if open_now + new_orders > limits.max_open_orders:
            raise Refusal(f"Too many open orders: {open_now} open, the limit is {limits.max_open_orders}.")
    if limits.max_orders_per_day:
        today = orders_today(user_id, today)
        if today + new_orders > limits.max_orders_per_day:
            raise Refusal(f"Daily order limit reached: {today} orders today, the limit is "
                          f"{limits.max_orders_per_day}.")
