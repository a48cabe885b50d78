"""Property tests: over random trade sequences (reversals included), the sandbox's average price and
realized and unrealized P&L equal an independent computation in exact fractions, to the paisa.

The convention both sides follow: weighted-average cost; each closing fill credits quantity × (price −
average) rounded to the paisa, halves away from zero (money moves fill by fill); unrealized is rounded once.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox.models import SandboxPosition
from tests.sandbox.factories import Sandbox, UserFactory, price

pytestmark = pytest.mark.django_db

trades = st.lists(
    st.tuples(st.sampled_from(["BUY", "SELL"]), st.integers(1, 300),
              st.integers(1000, 40_000).map(lambda ticks: Fraction(ticks, 20))),  # 50.00 .. 2000.00 by 0.05
    min_size=1, max_size=16)


def exact_paisa(value: Fraction) -> Decimal:
    """Round to the paisa from the exact fraction, halves away from zero (commercial rounding)."""
    scaled = abs(value) * 100
    units = scaled.numerator // scaled.denominator
    if scaled - units >= Fraction(1, 2):
        units += 1
    return Decimal(units if value >= 0 else -units) / 100


def reference(sequence):
    """Replays the trades with exact fractions: net quantity, average price, realized P&L."""
    qty, avg, realized = 0, Fraction(0), Decimal("0")
    for action, k, p in sequence:
        sign = 1 if action == "BUY" else -1
        if qty and (qty > 0) != (sign > 0):
            closing = min(k, abs(qty))
            realized += exact_paisa(closing * (p - avg) * (1 if qty > 0 else -1))
            qty += sign * closing
            k -= closing
            if qty == 0:
                avg = Fraction(0)
        if k:
            avg = (abs(qty) * avg + k * p) / (abs(qty) + k)
            qty += sign * k
    return qty, avg, realized


def as_decimal(p: Fraction) -> Decimal:
    return Decimal(p.numerator) / Decimal(p.denominator)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=trades, last=st.integers(1000, 40_000).map(lambda ticks: Fraction(ticks, 20)))
def test_average_price_and_pnl_match_an_exact_replay(sbin, sequence, last):
    sandbox = Sandbox(UserFactory())  # a fresh sandbox per example
    for action, k, p in sequence:
        price("SBIN", as_decimal(p))
        sandbox.place("SBIN", action, k)  # MARKET, no bid/ask: fills at the LTP; checks the ledger invariant
    price("SBIN", as_decimal(last))
    qty, avg, realized = reference(sequence)

    position = SandboxPosition.objects.get(user=sandbox.user, symbol="SBIN")
    assert position.quantity == qty
    assert position.average_price.quantize(Decimal("0.01"), ROUND_HALF_UP) == exact_paisa(avg)
    assert abs(position.average_price - as_decimal(avg)) < Decimal("1e-9")
    assert position.realized_pnl == realized
    funds = sandbox.check()
    assert funds.realized_pnl == realized
    info = sandbox.position("SBIN")
    assert info.unrealized_pnl == exact_paisa(qty * (last - avg))
    assert info.realized_pnl == realized
