"""The validation service on its own: canonical numbers, CRYPTO fractions, field paths."""
from decimal import Decimal

import pytest

from tests.trading.factories import InstrumentFactory
from trading.services.errors import InvalidOrder
from trading.services.validation import number, parse_order, parse_split_order

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("raw", "expected"), [
    ("10", Decimal(10)), (10, Decimal(10)), ("10.0", Decimal(10)), ("812.50", Decimal("812.5")),
    (812.5, Decimal("812.5")), (" 7 ", Decimal(7)), ("0.000001", Decimal("0.000001")),
])
def test_numbers_are_read_from_strings_and_numbers(raw, expected):
    value = number({"x": raw}, "x")
    assert value == expected
    assert "E" not in str(value)


def test_crypto_quantities_may_be_fractional():
    InstrumentFactory(exchange="CRYPTO", symbol="BTCUSDT", lot_size=1, tick_size=Decimal("0.01"))
    spec = parse_order({"strategy": "s", "exchange": "CRYPTO", "symbol": "btcusdt", "action": "BUY",
                        "quantity": "0.015"})
    assert spec.quantity == Decimal("0.015")
    with pytest.raises(InvalidOrder, match=r"^quantity:"):
        parse_order({"strategy": "s", "exchange": "NSE", "symbol": "BTCUSDT", "action": "BUY", "quantity": "0.5"})


def test_a_split_size_must_be_whole_lots():
    InstrumentFactory(exchange="NFO", symbol="BANKNIFTY30DEC26FUT", lot_size=30, instrument_type="FUT")
    body = {"strategy": "s", "exchange": "NFO", "symbol": "BANKNIFTY30DEC26FUT", "action": "BUY", "quantity": "300"}
    assert parse_split_order({**body, "splitsize": "60"})[1] == 60
    with pytest.raises(InvalidOrder, match=r"^splitsize:"):
        parse_split_order({**body, "splitsize": "45"})
