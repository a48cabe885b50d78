"""import_instruments and load_reference_data: validation with line numbers, upserts, tokens, atomicity."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError

from brokers.models import BrokerToken, Instrument
from brokers.services.instruments import get_instrument

pytestmark = pytest.mark.django_db

HEADER = "exchange,symbol,name,instrument_type,expiry,strike,lot_size,tick_size,freeze_qty\n"
GOOD = (
    "NSE,SBIN,STATE BANK OF INDIA,EQ,,,1,0.05,\n"
    "NFO,NIFTY29DEC26FUT,NIFTY,FUT,2026-12-29,,75,0.05,1800\n"
    "NFO,NIFTY29DEC2626000CE,NIFTY,CE,29-DEC-26,26000,75,0.05,1800\n"
)


def write(tmp_path: Path, text: str, name: str = "instruments.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_instruments", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_imports_a_good_file(tmp_path):
    out, err = run(str(write(tmp_path, HEADER + GOOD)))
    assert "created 3, updated 0, unchanged 0, skipped 0" in out
    assert err == ""
    option = Instrument.objects.get(symbol="NIFTY29DEC2626000CE")
    assert (option.exchange, option.instrument_type, option.underlying) == ("NFO", "CE", "NIFTY")
    assert option.expiry == date(2026, 12, 29)
    assert option.strike == Decimal("26000")
    assert (option.lot_size, option.tick_size, option.freeze_qty) == (75, Decimal("0.05"), 1800)
    assert Instrument.objects.get(symbol="SBIN").underlying == "SBIN"


def test_it_reports_bad_rows_with_their_line_numbers_and_imports_the_rest(tmp_path):
    text = HEADER + GOOD + (
        "NSE,RELIANCE,RELIANCE,EQ,,,0,0.05,\n"          # line 5: lot size 0
        "XYZ,FOO,FOO,EQ,,,1,0.05,\n"                     # line 6: exchange
        "NFO,NIFTY29DEC26FUT2,NIFTY,FUT,,,75,0.05,\n"    # line 7: no expiry
        "NFO,NIFTY29DEC2626000PE,NIFTY,PE,2026-12-29,,75,0.05,\n"  # line 8: no strike
        "NSE,INFY,INFOSYS,EQ,,,1,abc,\n"                 # line 9: tick
        "NSE,SBIN,DUPLICATE,EQ,,,1,0.05,\n"              # line 10: duplicate of line 2
        "NFO,NIFTY29DEC26FUT3,NIFTY,FUT,31/12/2026,,75,0.05,\n"  # line 11: expiry format
        "NSE,TCS,TCS,EQ,,,1,0.05,\n"                     # line 12: good
    )
    out, err = run(str(write(tmp_path, text)))
    assert "created 4, updated 0, unchanged 0, skipped 7" in out
    lines = err.strip().splitlines()
    assert lines[0].startswith("Skipped line 5: lot_size must be at least 1")
    assert lines[1].startswith("Skipped line 6: exchange 'XYZ'")
    assert lines[2] == "Skipped line 7: expiry is required for instrument_type FUT"
    assert lines[3] == "Skipped line 8: strike is required for instrument_type PE"
    assert lines[4].startswith("Skipped line 9: tick_size 'abc' is not a number")
    assert lines[5] == "Skipped line 10: NSE:SBIN already appears on line 2"
    assert lines[6].startswith("Skipped line 11: expiry '31/12/2026'")
    assert Instrument.objects.filter(symbol="TCS").exists()
    assert not Instrument.objects.filter(symbol="RELIANCE").exists()


def test_it_updates_changed_rows_and_leaves_unchanged_ones(tmp_path):
    run(str(write(tmp_path, HEADER + GOOD)))
    before = Instrument.objects.get(symbol="SBIN").updated_at
    changed = GOOD.replace("NIFTY,FUT,2026-12-29,,75,0.05,1800", "NIFTY,FUT,2026-12-29,,65,0.10,1755")
    out, _ = run(str(write(tmp_path, HEADER + changed, "v2.csv")))
    assert "created 0, updated 1, unchanged 2" in out
    future = Instrument.objects.get(symbol="NIFTY29DEC26FUT")
    assert (future.lot_size, future.tick_size, future.freeze_qty) == (65, Decimal("0.10"), 1755)
    assert Instrument.objects.get(symbol="SBIN").updated_at == before
    assert Instrument.objects.count() == 3


def test_an_import_invalidates_cached_lookups(tmp_path, django_capture_on_commit_callbacks):
    run(str(write(tmp_path, HEADER + GOOD)))
    assert get_instrument("NFO", "NIFTY29DEC26FUT").lot_size == 75
    changed = GOOD.replace(",75,0.05,1800\nNFO,NIFTY29DEC2626000CE", ",65,0.05,1800\nNFO,NIFTY29DEC2626000CE")
    with django_capture_on_commit_callbacks(execute=True):
        run(str(write(tmp_path, HEADER + changed, "v2.csv")))
    assert get_instrument("NFO", "NIFTY29DEC26FUT").lot_size == 65


def test_an_import_reaches_the_sandbox_at_once(tmp_path, django_capture_on_commit_callbacks):
    """One instrument look-up: the sandbox reads the master's, so an import is seen there too."""
    from sandbox.services import instruments as sandbox_instruments

    run(str(write(tmp_path, HEADER + GOOD.replace("NSE,SBIN,STATE BANK OF INDIA,EQ,,,1,", "NSE,SBIN,SBI,EQ,,,1,"))))
    assert sandbox_instruments.spec("NSE", "SBIN").lot_size == 1
    with django_capture_on_commit_callbacks(execute=True):
        run(str(write(tmp_path, HEADER + GOOD.replace(",EQ,,,1,", ",EQ,,,50,"), "v2.csv")))
    assert get_instrument("NSE", "SBIN").lot_size == 50
    assert sandbox_instruments.spec("NSE", "SBIN").lot_size == 50


def test_it_imports_broker_tokens_with_broker(tmp_path):
    text = (HEADER.strip() + ",token,broker_symbol,broker_exchange\n"
            "NSE,SBIN,STATE BANK OF INDIA,EQ,,,1,0.05,,3045,SBIN-EQ,NSE\n"
            "NFO,NIFTY29DEC26FUT,NIFTY,FUT,2026-12-29,,75,0.05,1800,52168,NIFTY26DECFUT,\n"
            "NSE,ITC,ITC LTD,EQ,,,1,0.05,,,,\n")  # line 4: token missing
    out, err = run(str(write(tmp_path, text)), "--broker", "openalgo", "--batch-size", "1")
    assert "created 2" in out
    assert "broker tokens written 2" in out
    assert "line 4: token is required with --broker" in err
    sbin = BrokerToken.objects.get(broker="openalgo", instrument__symbol="SBIN")
    assert (sbin.token, sbin.broker_symbol, sbin.broker_exchange) == ("3045", "SBIN-EQ", "NSE")
    assert BrokerToken.objects.get(instrument__symbol="NIFTY29DEC26FUT").broker_exchange == "NFO"
    out, _ = run(str(write(tmp_path, text.replace("3045", "3046"), "v2.csv")), "--broker", "openalgo")
    assert "created 0, updated 0, unchanged 2" in out
    assert "broker tokens written 1" in out  # only the changed token
    assert BrokerToken.objects.get(broker="openalgo", instrument__symbol="SBIN").token == "3046"
    assert BrokerToken.objects.count() == 2


def test_nothing_is_half_written_when_the_database_fails(tmp_path, monkeypatch):
    text = (HEADER.strip() + ",token\n" + "NSE,SBIN,STATE BANK OF INDIA,EQ,,,1,0.05,,3045\n"
            "NSE,TCS,TCS,EQ,,,1,0.05,,11536\n")

    def broken(*args, **kwargs):
        raise DatabaseError("disk I/O error")

    monkeypatch.setattr(BrokerToken.objects, "bulk_create", broken)
    with pytest.raises(CommandError, match="nothing was imported"):
        run(str(write(tmp_path, text)), "--broker", "openalgo", "--batch-size", "1")
    assert Instrument.objects.count() == 0


def test_it_refuses_a_file_with_missing_columns(tmp_path):
    with pytest.raises(CommandError, match=r"missing column.*lot_size"):
        run(str(write(tmp_path, "exchange,symbol,instrument_type,tick_size\nNSE,SBIN,EQ,0.05\n")))


def test_it_refuses_an_unknown_broker_and_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match="--broker"):
        run(str(write(tmp_path, HEADER + GOOD)), "--broker", "nobody")
    with pytest.raises(CommandError, match="cannot read"):
        run(str(tmp_path / "absent.csv"))
    with pytest.raises(CommandError, match="--batch-size"):
        run(str(write(tmp_path, HEADER + GOOD)), "--batch-size", "0")


def test_dry_run_writes_nothing(tmp_path):
    out, _ = run(str(write(tmp_path, HEADER + GOOD)), "--dry-run")
    assert "3 valid row(s)" in out
    assert Instrument.objects.count() == 0


def test_load_reference_data_is_idempotent():
    out = StringIO()
    call_command("load_reference_data", stdout=out)
    first = Instrument.objects.count()
    assert first > 50
    assert f"created {first}, updated 0, unchanged 0, skipped 0" in out.getvalue()
    out = StringIO()
    call_command("load_reference_data", stdout=out)
    assert f"created 0, updated 0, unchanged {first}, skipped 0" in out.getvalue()
    assert len(out.getvalue().strip().splitlines()) == 1
    nifty = Instrument.objects.filter(underlying="NIFTY", instrument_type="FUT").first()
    assert (nifty.lot_size, nifty.tick_size) == (75, Decimal("0.05"))
    assert Instrument.objects.get(exchange="NSE", symbol="SBIN").tick_size == Decimal("0.05")
    assert Instrument.objects.filter(exchange="MCX", underlying="CRUDEOIL").exists()


def test_load_reference_data_never_overwrites_an_operators_import(tmp_path):
    call_command("load_reference_data", stdout=StringIO())
    future = Instrument.objects.filter(underlying="NIFTY", instrument_type="FUT").first()
    newer = (HEADER + f"NFO,{future.symbol},NIFTY,FUT,{future.expiry:%Y-%m-%d},,65,0.05,1755\n")
    assert "updated 1" in run(str(write(tmp_path, newer)))[0]
    out = StringIO()
    call_command("load_reference_data", stdout=out)
    assert "kept 1 as imported earlier" in out.getvalue()
    future.refresh_from_db()
    assert (future.lot_size, future.freeze_qty) == (65, 1755)
