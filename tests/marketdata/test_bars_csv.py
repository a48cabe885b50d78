"""`manage.py bars import / export`: bad rows reported by line and skipped, upserts idempotent, an
export imports back unchanged, bad arguments exit non-zero with a message."""
from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command

from marketdata.models import Bar
from tests.brokers.factories import InstrumentFactory

pytestmark = pytest.mark.django_db
IST = ZoneInfo("Asia/Kolkata")

GOOD_AND_BAD = """\
exchange,symbol,timestamp,open,high,low,close,volume
NSE,SBIN,2026-11-24T09:15:00,800,803,799,802,1200
NSE,SBIN,2026-11-24T09:16:00,802,804,801,abc,900
NSE,SBIN,2026-11-24T09:17:30,802,804,801,803,900
NSE,SBIN,2026-11-24T09:18:00,802,801,803,802,900
NSE,SBINN,2026-11-24T09:19:00,802,804,801,803,900
NSE,SBIN,2026-11-24T09:20:00,802,804,801,803,-5
NSE,SBIN,not-a-time,802,804,801,803,5
NSE,SBIN,1795498260,802,804,801,803,700
"""


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("bars", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def sbin(db):
    return InstrumentFactory(exchange="NSE", symbol="SBIN", tick_size="0.05", lot_size=1)


@pytest.fixture
def csv_file(tmp_path):
    def write(text: str, name: str = "bars.csv"):
        path = tmp_path / name
        path.write_text(text)
        return str(path)
    return write


def test_it_imports_good_rows_and_reports_bad_ones_by_line(sbin, csv_file):
    out, err = run("import", csv_file(GOOD_AND_BAD))
    assert err.splitlines() == [
        "line 3: close: 'abc' is not a number (skipped)",
        "line 4: timestamp: '2026-11-24T09:17:30' is not the start of a minute (skipped)",
        "line 5: high/low: high 801 and low 803 do not contain open 802 and close 802 (skipped)",
        "line 6: symbol: SBINN is not in the instrument master of NSE (skipped)",
        "line 7: volume: '-5' is not a whole number of zero or more (skipped)",
        "line 8: timestamp: 'not-a-time' is not ISO 8601 or epoch seconds (skipped)",
    ]
    assert out.strip() == "2 bars stored from 8 rows; 6 skipped."
    assert list(Bar.objects.order_by("timestamp").values_list("timestamp", "interval", "open", "close", "volume")) == [
        (dt.datetime(2026, 11, 24, 9, 15, tzinfo=IST), "1m", D("800"), D("802"), 1200),
        (dt.datetime.fromtimestamp(1795498260, dt.UTC), "1m", D("802"), D("803"), 700),  # epoch seconds
    ]


def test_importing_again_changes_nothing_and_a_corrected_row_replaces_its_bar(sbin, csv_file):
    path = csv_file(GOOD_AND_BAD)
    run("import", path)
    before = list(Bar.objects.order_by("pk").values())
    run("import", path)
    assert list(Bar.objects.order_by("pk").values()) == before
    run("import", csv_file("exchange,symbol,timestamp,open,high,low,close\n"
                           "NSE,SBIN,2026-11-24T09:15:00+05:30,800,810,799,809\n", "fix.csv"))
    assert Bar.objects.count() == 2
    assert Bar.objects.get(timestamp=dt.datetime(2026, 11, 24, 9, 15, tzinfo=IST)).close == D("809")


def test_daily_rows_land_on_the_exchanges_date(sbin, csv_file):
    run("import", "--interval", "D", csv_file("symbol,exchange,timestamp,open,high,low,close,volume,oi\n"
                                               "SBIN,NSE,2026-11-23,790,801,785,800,123456,0\n"
                                               "SBIN,NSE,1795996800,800,812,798,810,99,0\n"))  # midnight UTC 11-30
    assert list(Bar.objects.order_by("timestamp").values_list("interval", "timestamp", "close")) == [
        ("D", dt.datetime(2026, 11, 23, tzinfo=IST), D("800")),
        ("D", dt.datetime(2026, 11, 30, tzinfo=IST), D("810")),
    ]


def test_an_export_imports_back_unchanged(sbin, csv_file, tmp_path):
    run("import", csv_file(GOOD_AND_BAD))
    run("import", "--interval", "D", csv_file("exchange,symbol,timestamp,open,high,low,close\n"
                                               "NSE,SBIN,2026-11-23,790,801,785,800.25\n", "daily.csv"))
    exported = tmp_path / "out.csv"
    out, _ = run("export", "-o", str(exported))
    assert out.strip() == f"3 bars written to {exported}."
    text = exported.read_text()
    assert text.splitlines()[:3] == [
        "exchange,symbol,interval,timestamp,open,high,low,close,volume,oi",
        "NSE,SBIN,1m,2026-11-24T09:15:00+05:30,800,803,799,802,1200,0",
        "NSE,SBIN,1m,2026-11-24T11:01:00+05:30,802,804,801,803,700,0",
    ]
    before = list(Bar.objects.order_by("pk").values())
    Bar.objects.all().delete()
    _, err = run("import", str(exported))
    assert err == ""
    assert [{k: v for k, v in b.items() if k != "id"} for b in Bar.objects.order_by("timestamp", "interval").values()] \
        == sorted(({k: v for k, v in b.items() if k != "id"} for b in before), key=lambda b: (b["timestamp"],
                                                                                              b["interval"]))


def test_export_filters_by_instrument_interval_and_local_dates(sbin, csv_file):
    run("import", csv_file(GOOD_AND_BAD))
    out, _ = run("export", "--symbol", "sbin", "--exchange", "NSE", "--interval", "1m", "--from", "2026-11-24",
                 "--to", "2026-11-24")
    assert [line.split(",")[3] for line in out.splitlines()[1:]] == ["2026-11-24T09:15:00+05:30",
                                                                      "2026-11-24T11:01:00+05:30"]
    out, _ = run("export", "--from", "2026-11-25")
    assert out.splitlines()[1:] == []


@pytest.mark.parametrize(("args", "message"), [
    (["import", "/no/such/file.csv"], "cannot read /no/such/file.csv"),
    (["export", "--from", "2026-13-01"], "'2026-13-01' is not a date"),
    (["export", "--from", "2026-11-25", "--to", "2026-11-24"], "--to must not be before --from"),
    (["import", "BARS", "--batch-size", "0"], "--batch-size must be at least 1"),
])
def test_bad_arguments_fail_with_a_message(args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_a_file_without_the_needed_columns_is_refused(csv_file):
    with pytest.raises(CommandError, match="the header lacks open, high, low, close"):
        run("import", csv_file("exchange,symbol,timestamp,ltp\nNSE,SBIN,2026-11-24T09:15:00,800\n"))


def test_bad_arguments_exit_non_zero_from_the_shell(tmp_path):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "manage.py", "bars", "import", str(tmp_path / "missing.csv")],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert "cannot read" in result.stderr
