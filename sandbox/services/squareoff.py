"""Intraday (MIS) square-off at each exchange group's cut-off: cancel resting MIS orders, then close
open MIS positions with MARKET orders through the ordinary order path. Skipped on exchange holidays."""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.db.models import Q

from brokers.adapters.base import BrokerError, OrderSpec
from sandbox.models import GROUP_EXCHANGES, RESTING, Action, PriceType, Product, SandboxOrder, SandboxPosition
from sandbox.services.money import ist_date, now
from sandbox.services.orders import cancel_order, place_order

log = logging.getLogger(__name__)
STRATEGY = "sandbox square-off"


def trades_on(exchange: str, day: dt.date) -> bool:
    """Whether the exchange has a session on `day`, from the market calendar; weekdays if the
    calendar does not know the exchange yet."""
    try:
        from trading.services.calendar import session_window
    except ImportError:
        return day.weekday() < 5
    try:
        return session_window(exchange, day) is not None
    except ValueError:  # exchange not in the calendar
        return day.weekday() < 5


@dataclass
class SquareOffResult:
    group: str
    exchanges: list[str] = field(default_factory=list)
    holiday: list[str] = field(default_factory=list)
    cancelled: int = 0
    closed: int = 0
    failed: int = 0

    def __str__(self) -> str:
        skipped = f", skipped (holiday) {','.join(self.holiday)}" if self.holiday else ""
        return (f"sandbox square-off {self.group}: {self.cancelled} orders cancelled, {self.closed} positions "
                f"closed, {self.failed} failed on {','.join(self.exchanges) or 'no exchange'}{skipped}")


def square_off_group(group: str, *, at: dt.datetime | None = None, batch: int = 200) -> SquareOffResult:
    at = at or now()
    day = ist_date(at)
    result = SquareOffResult(group)
    for exchange in GROUP_EXCHANGES[group]:
        (result.exchanges if trades_on(exchange, day) else result.holiday).append(exchange)
    if not result.exchanges:
        return result
    mis = Q(product=Product.MIS, exchange__in=result.exchanges)
    while True:  # bounded batches; each cancel claims its order under a lock, so reruns are harmless
        rows = list(SandboxOrder.objects.filter(mis, status__in=RESTING).order_by("id")
                    .values_list("user_id", "order_id")[:batch])
        if not rows:
            break
        for user_id, order_id in rows:
            try:
                cancel_order(user_id, order_id, reason="MIS square-off")
                result.cancelled += 1
            except BrokerError:
                pass  # filled or cancelled meanwhile
    failed_ids: set[int] = set()
    while True:
        positions = list(SandboxPosition.objects.filter(mis).exclude(quantity=0).exclude(pk__in=failed_ids)
                         .order_by("id")[:batch])
        if not positions:
            break
        for position in positions:
            action = Action.SELL if position.quantity > 0 else Action.BUY
            order = OrderSpec(position.exchange, position.symbol, action, abs(position.quantity), PriceType.MARKET,
                              Product.MIS, strategy=STRATEGY)
            try:
                place_order(position.user_id, order, at=at, squareoff=True)
                result.closed += 1
            except BrokerError as exc:
                failed_ids.add(position.pk)
                result.failed += 1
                log.warning("sandbox square-off: position %s not closed: %s", position.pk, exc.message)
    return result
