"""Load the shipped reference data (the sample instrument master). Idempotent; runs on every start."""
from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from brokers.services import importer

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
SAMPLE_INSTRUMENTS = DATA_DIR / "instruments_sample.csv"


class Command(BaseCommand):
    help = ("Add the shipped sample instruments (brokers/data/instruments_sample.csv) that are missing. Safe "
            "to run on every start: existing instruments are never changed (import_instruments updates them).")

    def handle(self, *args, **options) -> None:
        try:
            rows, errors = importer.read_rows(importer.open_csv(SAMPLE_INSTRUMENTS))
            summary = importer.import_rows(rows, update_existing=False)
        except importer.ImportFileError as exc:
            raise CommandError(f"{SAMPLE_INSTRUMENTS.name}: {exc}") from exc
        except DatabaseError as exc:
            raise CommandError(f"Database error, reference data not loaded: {exc}") from exc
        summary.skipped = len(errors)
        for error in errors:
            self.stderr.write(f"{SAMPLE_INSTRUMENTS.name}: skipped {error}")
        self.stdout.write(f"Reference data: {SAMPLE_INSTRUMENTS.name}: {summary.line()}.")
