"""Run the trading accounts' health check now, as the schedule does: ping, record, fail over or back."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from brokers.models import TradingAccount
from brokers.services import health


class Command(BaseCommand):
    help = ("Ping every active trading account (or those of --user), record their health and let failover act, "
            "as the scheduled health check does; prints one line per account and the run's summary.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--user", help="only this username's accounts (each checked like the admin's test)")

    def handle(self, *args, **options) -> None:
        if options["user"]:
            accounts = list(TradingAccount.objects.active().filter(user__username=options["user"])
                            .order_by("priority", "id"))
            if not accounts:
                raise CommandError(f"--user: no active trading account of a user named {options['user']!r}.")
            for account in accounts:
                ok, message = health.check_connection(account)
                self.stdout.write(f"{account.name}: {'ok' if ok else 'FAILED'} {message} "
                                  f"({account.get_connection_status_display()})")
            return
        summary = health.run_checks()
        if summary.skipped:
            raise CommandError(str(summary))
        for name, status, error in (TradingAccount.objects.active().order_by("user__username", "priority")
                                    .values_list("name", "connection_status", "last_error")):
            self.stdout.write(f"{name}: {status}{' ' + error[:120] if error else ''}")
        self.stdout.write(self.style.SUCCESS(str(summary)))
