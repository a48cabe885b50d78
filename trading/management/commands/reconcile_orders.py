"""`manage.py reconcile_orders [--account ID]`: settle orders awaiting confirmation now.

The same code as the scheduled task trading.tasks.reconcile_unknown_orders (every minute by default).
"""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from trading.services import reconcile


class Command(BaseCommand):
    help = ("Look for orders awaiting confirmation (their broker's answer was lost) in their brokers' order "
            "books: found ones take the broker's id and state, ones not found within the window are rejected.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--account", type=int, help="Only this trading account (its id).")

    def handle(self, *args, account: int | None = None, **options) -> None:
        summary = reconcile.reconcile_account(account) if account else reconcile.reconcile_all()
        self.stdout.write(f"Reconciled {summary}.")
