"""`manage.py migrate`, which also migrates the logs database when it is a database of its own.

Run from the command line without --database or an app label, it migrates the default database and then
the logs database (LOGS_DATABASE_URL, or var/logs.sqlite3 on the embedded default), so one command sets up
both. call_command("migrate") (the test runner, scripts) and `--database X` behave exactly as Django's.
"""
from __future__ import annotations

from django.core.management import call_command
from django.core.management.commands import migrate

from analytics.routers import logs_db


class Command(migrate.Command):
    help = migrate.Command.help + " Without --database, the logs database too."

    def run_from_argv(self, argv: list[str]) -> None:
        self.both = not any(arg == "--database" or arg.startswith("--database=") for arg in argv)
        super().run_from_argv(argv)

    def handle(self, *args, **options):
        super().handle(*args, **options)
        logs = logs_db()
        if not getattr(self, "both", False) or options.get("app_label") or logs == options["database"]:
            return
        if options["verbosity"]:
            self.stdout.write(self.style.MIGRATE_HEADING(f"The logs database ({logs}):"))
        call_command("migrate", database=logs, verbosity=options["verbosity"], interactive=False,
                     fake=options["fake"], fake_initial=options["fake_initial"], plan=options["plan"],
                     check_unapplied=options["check_unapplied"], stdout=self.stdout, stderr=self.stderr)
