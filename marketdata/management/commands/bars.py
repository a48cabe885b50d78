"""Import and export OHLCV bars.

    manage.py bars import FILE.csv [--interval 1m|D] [--batch-size 2000]
    manage.py bars export [-o FILE.csv] [--exchange NSE] [--symbol SBIN] [--interval 1m|D]
                          [--from YYYY-MM-DD] [--to YYYY-MM-DD]

import reads exchange,symbol,timestamp,open,high,low,close[,interval,volume,oi]; bad rows are
reported with their line numbers and skipped, the rest upserted (importing twice changes nothing).
export writes the same format (to standard output by default), so its output imports back.
"""
from __future__ import annotations

import datetime as dt
import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser

from marketdata.models import StoredInterval
from marketdata.services import csvio

MAX_REPORTED = 50  # bad rows listed one by one; past this only counted


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{text!r} is not a date (YYYY-MM-DD)") from None


class Command(BaseCommand):
    help = "Import OHLCV bars from CSV (upserts; bad rows reported and skipped) or export them to CSV."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="Upsert bars from a CSV file.")
        imp.add_argument("file")
        imp.add_argument("--interval", choices=StoredInterval.values, default=StoredInterval.MINUTE,
                         help="Interval of rows without an interval column (default 1m).")
        imp.add_argument("--batch-size", type=int, default=2000)
        exp = sub.add_parser("export", help="Write stored bars as CSV.")
        exp.add_argument("-o", "--output", help="File to write (default: standard output).")
        exp.add_argument("--exchange")
        exp.add_argument("--symbol")
        exp.add_argument("--interval", choices=StoredInterval.values)
        exp.add_argument("--from", dest="start", help="First date (YYYY-MM-DD, the exchange's).")
        exp.add_argument("--to", dest="end", help="Last date, inclusive.")

    def handle(self, *args, action: str, **options) -> None:
        try:
            getattr(self, f"_{action}")(**options)
        except csvio.CsvError as exc:
            raise CommandError(str(exc)) from None

    def _progress(self, total: int | None, unit: str):
        from tqdm import tqdm

        # On the error stream, so an export to standard output stays a clean CSV.
        return tqdm(total=total, unit=unit, file=sys.stderr, disable=not sys.stderr.isatty() or self.verbosity < 1)

    def _import(self, file: str, interval: str, batch_size: int, **options) -> None:
        self.verbosity = options["verbosity"]
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        try:
            with open(file, newline="", encoding="utf-8-sig") as handle:
                total = max(sum(1 for _ in handle) - 1, 0)
                handle.seek(0)
                with self._progress(total, "row") as bar:
                    report = csvio.import_bars(csvio.read_rows(handle), interval=interval, batch_size=batch_size,
                                               progress=bar.update)
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise CommandError(f"{file} is not UTF-8 text") from None
        for line, message in report.skipped[:MAX_REPORTED]:
            self.stderr.write(f"line {line}: {message} (skipped)")
        if len(report.skipped) > MAX_REPORTED:
            self.stderr.write(f"... and {len(report.skipped) - MAX_REPORTED} more bad rows")
        self.stdout.write(f"{report.stored} bars stored from {report.rows} rows; {len(report.skipped)} skipped.")

    def _export(self, output: str | None, exchange: str | None, symbol: str | None, interval: str | None,
                start: str | None, end: str | None, **options) -> None:
        self.verbosity = options["verbosity"]
        first, last = (_date(start) if start else None), (_date(end) if end else None)
        if first and last and last < first:
            raise CommandError("--to must not be before --from")
        bars = csvio.export_queryset(exchange=exchange, symbol=symbol, interval=interval, start=first, end=last)
        try:
            handle = open(output, "w", newline="", encoding="utf-8") if output else self.stdout  # noqa: SIM115
        except OSError as exc:
            raise CommandError(f"cannot write {output}: {exc.strerror}") from None
        try:
            with self._progress(bars.count(), "bar") as bar:
                count = csvio.export_bars(bars, handle, progress=bar.update)
        finally:
            if output:
                handle.close()
        if output:
            self.stdout.write(f"{count} bars written to {output}.")
