"""Deployments' P&L from their own filled orders and the price store: realized (average cost) and
unrealized (open quantity at the last price). One grouped query and one price read for a whole batch.

The price store belongs to the sandbox, which this app may not import (docs/architecture.md): it is
reached through the STRATEGY_PRICE_READER setting, a dotted path to a function that takes
[(exchange, symbol)] and returns {(exchange, symbol): quote with .ltp}.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db.models import DecimalField, F, Sum
from django.utils.module_loading import import_string

from trading.models import Action, Order

ZERO = Decimal("0")
CENT = Decimal("0.01")
Leg = tuple[str, str, str]


@dataclass
class LegBook:
    bought: Decimal = ZERO
    bought_value: Decimal = ZERO
    sold: Decimal = ZERO
    sold_value: Decimal = ZERO

    @property
    def net(self) -> Decimal:
        return self.bought - self.sold

    def realized(self) -> Decimal:
        """Closed quantity against the average cost of the open side."""
        net = self.net
        if net > 0:
            return self.sold_value - self.sold * (self.bought_value / self.bought)
        if net < 0:
            return self.bought * (self.sold_value / self.sold) - self.bought_value
        return self.sold_value - self.bought_value

    def unrealized(self, ltp: Decimal) -> Decimal:
        net = self.net
        if net > 0:
            return net * (ltp - self.bought_value / self.bought)
        if net < 0:
            return net * (ltp - self.sold_value / self.sold)
        return ZERO


@dataclass
class DeploymentPnl:
    legs: dict[Leg, LegBook] = field(default_factory=dict)
    realized: Decimal = ZERO
    unrealized: Decimal | None = ZERO  # None: an open leg has no price, so it (and the total) is unknown

    @property
    def total(self) -> Decimal | None:
        return None if self.unrealized is None else self.realized + self.unrealized

    @property
    def open_quantity(self) -> Decimal:
        return sum((abs(book.net) for book in self.legs.values()), ZERO)


def read_prices(pairs: list[tuple[str, str]]) -> dict[tuple[str, str], Decimal]:
    if not pairs:
        return {}
    quotes = import_string(settings.STRATEGY_PRICE_READER)(pairs)
    return {pair: quote.ltp for pair, quote in quotes.items() if quote is not None and quote.ltp}


def books_of(deployment_ids: Iterable[int]) -> dict[int, dict[Leg, LegBook]]:
    value = DecimalField(max_digits=28, decimal_places=8)
    rows = (Order.objects.filter(deployment_id__in=list(deployment_ids), filled_quantity__gt=0)
            .values("deployment_id", "exchange", "symbol", "product", "action")
            .annotate(quantity=Sum("filled_quantity"),
                      value=Sum(F("filled_quantity") * F("average_price"), output_field=value))
            .order_by())
    books: dict[int, dict[Leg, LegBook]] = defaultdict(dict)
    for row in rows:
        book = books[row["deployment_id"]].setdefault((row["exchange"], row["symbol"], row["product"]), LegBook())
        # SQLite multiplies decimals as floats: the paisa is the unit that matters.
        quantity, amount = row["quantity"], Decimal(row["value"]).quantize(Decimal("0.0001"))
        if row["action"] == Action.BUY:
            book.bought, book.bought_value = quantity, amount
        else:
            book.sold, book.sold_value = quantity, amount
    return books


def pnl_of(deployment_ids: Iterable[int]) -> dict[int, DeploymentPnl]:
    """Each deployment's P&L (deployments without fills get zeros)."""
    ids = list(deployment_ids)
    books = books_of(ids)
    prices = read_prices(sorted({leg[:2] for legs in books.values() for leg, b in legs.items() if b.net}))
    result = {}
    for pk in ids:
        pnl = DeploymentPnl(legs=books.get(pk, {}))
        for leg, book in pnl.legs.items():
            pnl.realized += book.realized()
            if book.net and pnl.unrealized is not None:
                ltp = prices.get(leg[:2])
                pnl.unrealized = None if ltp is None else pnl.unrealized + book.unrealized(ltp)
        pnl.realized = pnl.realized.quantize(CENT)
        if pnl.unrealized is not None:
            pnl.unrealized = pnl.unrealized.quantize(CENT)
        result[pk] = pnl
    return result
