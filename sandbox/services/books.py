"""Reading the sandbox's books: positions and holdings valued at the store's prices, and open P&L."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sandbox.models import SandboxHolding, SandboxPosition
from sandbox.services.money import ZERO, paisa
from sandbox.services.prices import stored_quotes


def unrealized(quantity: Decimal, average_price: Decimal, ltp: Decimal | None) -> Decimal:
    """Open P&L of a net quantity (negative = short) at the LTP; zero when there is no price."""
    if not quantity or ltp is None:
        return ZERO
    return paisa(quantity * (ltp - average_price))


@dataclass(frozen=True)
class Valued:
    row: SandboxPosition | SandboxHolding
    ltp: Decimal
    unrealized: Decimal


def _value(rows: list) -> list[Valued]:
    quotes = stored_quotes(list({(r.exchange, r.symbol) for r in rows}))
    out = []
    for r in rows:
        quote = quotes.get((r.exchange, r.symbol))
        ltp = quote.ltp if quote else r.average_price
        out.append(Valued(r, ltp, unrealized(r.quantity, r.average_price, quote.ltp if quote else None)))
    return out


def valued_positions(user_id: int) -> list[Valued]:
    return _value(list(SandboxPosition.objects.filter(user_id=user_id).order_by("exchange", "symbol", "product")))


def valued_holdings(user_id: int) -> list[Valued]:
    return _value(list(SandboxHolding.objects.filter(user_id=user_id).order_by("exchange", "symbol")))


def open_pnl(user_id: int) -> Decimal:
    """Unrealized P&L of every open position and holding at the store's prices."""
    return sum((v.unrealized for v in valued_positions(user_id) + valued_holdings(user_id)), ZERO)
