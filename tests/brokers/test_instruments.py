"""The instrument master look-ups: cached get_instrument, search, expiries."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from brokers.models import Instrument, InstrumentType
from brokers.services.instruments import expiries, format_expiry, get_instrument, invalidate_cache, search
from tests.brokers.factories import InstrumentFactory, OptionFactory

pytestmark = pytest.mark.django_db


def test_get_instrument_costs_one_query_then_none(django_assert_num_queries):
    InstrumentFactory(symbol="SBIN")
    with django_assert_num_queries(1):
        first = get_instrument("NSE", "SBIN")
    with django_assert_num_queries(0):
        second = get_instrument("nse", " sbin ")
    assert first.symbol == second.symbol == "SBIN"
    assert second.tick_size == Decimal("0.05")


def test_get_instrument_caches_unknown_symbols_too(django_assert_num_queries):
    with django_assert_num_queries(1):
        assert get_instrument("NSE", "NOPE") is None
    with django_assert_num_queries(0):
        assert get_instrument("NSE", "NOPE") is None


def test_an_edit_in_the_admin_or_shell_invalidates_the_cache(django_capture_on_commit_callbacks):
    instrument = InstrumentFactory(symbol="INFY", lot_size=1)
    assert get_instrument("NSE", "INFY").lot_size == 1
    with django_capture_on_commit_callbacks(execute=True):
        instrument.lot_size = 5
        instrument.save()
    assert get_instrument("NSE", "INFY").lot_size == 5


def test_invalidate_cache_forgets_a_cached_miss():
    assert get_instrument("NSE", "NEWCO") is None
    InstrumentFactory(symbol="NEWCO")
    assert get_instrument("NSE", "NEWCO") is None  # still the cached miss
    invalidate_cache()
    assert get_instrument("NSE", "NEWCO") is not None


def test_search_puts_exact_and_prefix_matches_first():
    InstrumentFactory(symbol="SBINEQ", name="SOMETHING")
    InstrumentFactory(symbol="SBIN", name="STATE BANK OF INDIA")
    InstrumentFactory(symbol="XSBIN", name="OTHER")
    InstrumentFactory(exchange="BSE", symbol="SBIN", name="STATE BANK OF INDIA")
    assert [i.symbol for i in search("sbin", exchange="NSE")] == ["SBIN", "SBINEQ", "XSBIN"]
    assert {i.exchange for i in search("state bank")} == {"NSE", "BSE"}
    assert len(search("sbin", limit=2)) == 2
    assert search("   ") == []


def test_expiries_are_sorted_distinct_and_formatted_like_openalgo():
    for expiry in (date(2026, 12, 29), date(2026, 11, 24), date(2026, 12, 1)):
        for kind in (InstrumentType.CE, InstrumentType.PE):
            OptionFactory(expiry=expiry, instrument_type=kind)
    OptionFactory(instrument_type=InstrumentType.FUT, strike=None, symbol="NIFTY26JAN27FUT",
                  expiry=date(2027, 1, 26))
    OptionFactory(underlying="BANKNIFTY", expiry=date(2026, 10, 27))
    assert expiries("NIFTY", "NFO", "options") == ["24-NOV-26", "01-DEC-26", "29-DEC-26"]
    assert expiries("nifty", "nfo", "futures") == ["26-JAN-27"]
    assert expiries("NIFTY", "BFO", "options") == []


def test_expiries_rejects_an_unknown_instrument_type():
    with pytest.raises(ValueError, match="instrument_type"):
        expiries("NIFTY", "NFO", "swaps")


def test_format_expiry():
    assert format_expiry(date(2024, 11, 28)) == "28-NOV-24"


def test_get_instrument_is_not_fooled_by_other_exchanges():
    InstrumentFactory(exchange="BSE", symbol="TCS")
    assert get_instrument("NSE", "TCS") is None
    assert Instrument.objects.count() == 1



def test_cache_keys_are_read_ahead_only_for_plausible_names():
    from brokers.services.instruments import cache_keys

    assert cache_keys(" nse ", "sbin") == ["brokers:instruments:generation", "brokers:instrument:NSE:SBIN"]
    assert cache_keys("NSE", None) == []
    assert cache_keys("MOON", "SBIN") == []
    assert cache_keys("NSE", "S BIN") == []
    assert cache_keys("NSE", "\x98U=\x18") == []
    assert cache_keys("NSE", "X" * 65) == []
