"""Import (upsert) the instrument master from a CSV file."""
from __future__ import annotations

from argparse import RawDescriptionHelpFormatter

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError
from tqdm import tqdm

from brokers.adapters.registry import broker_names
from brokers.services import importer

COLUMNS_HELP = """\
CSV columns (a header row is required; names are case-insensitive, order free):
  exchange         required: NSE, BSE, NFO, BFO, CDS, BCD, MCX, NCDEX, NCO, NSE_INDEX, BSE_INDEX, MCX_INDEX, CRYPTO
  symbol           required: OpenAlgo format, e.g. SBIN, NIFTY29DEC26FUT, NIFTY29DEC2626000CE
  name             optional: company or underlying name
  underlying       optional: derived from the symbol for FUT/CE/PE (NIFTY29DEC26FUT -> NIFTY), else the symbol
  instrument_type  required: EQ, FUT, CE, PE or INDEX
  expiry           required for FUT/CE/PE: YYYY-MM-DD or DD-MMM-YY (29-DEC-26)
  strike           required for CE/PE, empty otherwise
  lot_size         required: whole number >= 1
  tick_size        required: positive number, e.g. 0.05
  freeze_qty       optional: whole number >= 1
With --broker NAME also:
  token            required: the broker's instrument token
  broker_symbol    optional: the broker's symbol (default: symbol)
  broker_exchange  optional: the broker's exchange code (default: exchange)

Every row is validated first; bad rows are reported with their line numbers and skipped. The good
rows are written in one transaction: if the database fails, nothing is written.
"""


class Command(BaseCommand):
    help = "Import (upsert on exchange + symbol) instruments, and optionally one broker's tokens, from a CSV file."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = RawDescriptionHelpFormatter
        parser.epilog = COLUMNS_HELP
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The CSV file (UTF-8).")
        parser.add_argument("--broker", default=None,
                            help=f"Also import this broker's tokens: {', '.join(broker_names())}.")
        parser.add_argument("--batch-size", type=int, default=1000, help="Rows per INSERT statement (default 1000).")
        parser.add_argument("--dry-run", action="store_true", help="Validate and report; write nothing.")
        parser.add_argument("--max-errors-shown", type=int, default=50, help="Bad rows listed (default 50).")

    def handle(self, *args, **options) -> None:
        broker, batch_size = options["broker"], options["batch_size"]
        if broker is not None and broker not in broker_names():
            raise CommandError(f"--broker must be one of {', '.join(broker_names())}, not {broker!r}.")
        if batch_size < 1:
            raise CommandError("--batch-size must be 1 or more.")
        try:
            rows, errors = importer.read_rows(importer.open_csv(options["file"]), broker)
        except importer.ImportFileError as exc:
            raise CommandError(f"{options['file']}: {exc}") from exc
        self._report_errors(errors, options["max_errors_shown"])
        if errors and not rows:
            raise CommandError(f"{options['file']}: no valid rows ({len(errors)} bad).")
        if options["dry_run"]:
            self.stdout.write(f"Dry run: {len(rows)} valid row(s), {len(errors)} bad; nothing written.")
            return
        total = len(rows) * (2 if broker else 1)
        with tqdm(total=total, unit="row", desc="instruments", disable=None) as bar:
            try:
                summary = importer.import_rows(rows, broker=broker, batch_size=batch_size, progress=bar.update)
            except DatabaseError as exc:
                raise CommandError(f"Database error, nothing was imported: {exc}") from exc
        summary.skipped = len(errors)
        self.stdout.write(self.style.SUCCESS(f"Imported {options['file']}: {summary.line()}."))

    def _report_errors(self, errors: list[importer.RowError], limit: int) -> None:
        for error in errors[:limit]:
            self.stderr.write(f"Skipped {error}")
        if len(errors) > limit:
            self.stderr.write(f"... and {len(errors) - limit} more bad row(s).")
