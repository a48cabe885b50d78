"""Run retention by hand: the nightly tasks' code, with a progress bar.

    manage.py retention run [--policy TARGET] [--dry-run]
    manage.py retention list
    manage.py retention release --policy TARGET

run takes every enabled policy (or the one named) and archives or deletes its old rows in batches, as the
nightly task does; --dry-run only counts what it would take and changes nothing. list shows the policies.
release drops a run's claim on a policy, for a run that died (killed) before its claim expired.
"""
from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser

from maintenance import targets
from maintenance.models import RetentionPolicy
from maintenance.services import retention
from maintenance.services.runs import PolicyBusy, run_policy


class Command(BaseCommand):
    help = "Run the retention policies now (archive or delete old rows in batches), or list them."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        run = sub.add_parser("run", help="Run every enabled policy, or the one named.")
        run.add_argument("--policy", help="The policy's target, e.g. analytics.traffic (see `retention list`).")
        run.add_argument("--dry-run", action="store_true", help="Count what would be taken; change nothing.")
        sub.add_parser("list", help="The policies, their windows and their last runs.")
        release = sub.add_parser("release", help="Drop the claim of a run that died (its claim otherwise "
                                                 "expires RETENTION_TIME_LIMIT + 10 minutes after it began).")
        release.add_argument("--policy", required=True)

    def handle(self, *args, action: str, **options) -> None:
        if action == "list":
            for p in RetentionPolicy.objects.all():
                state = "enabled" if p.enabled else "disabled"
                self.stdout.write(f"{p.target}: {p.keep_days} days, {p.action}, batches of {p.batch_size}, {state}; "
                                  f"last run: {p.last_result or 'never'}")
            return
        if action == "release":
            released = RetentionPolicy.objects.filter(target=options["policy"]).update(running_until=None)
            if not released:
                raise CommandError(f"--policy: no retention policy {options['policy']!r}")
            self.stdout.write(f"retention {options['policy']}: claim released")
            return
        self._run(options.get("policy"), options["dry_run"], options["verbosity"])

    def _run(self, name: str | None, dry_run: bool, verbosity: int) -> None:
        policies = RetentionPolicy.objects.all()
        if name:
            if name not in targets.TARGETS:
                known = ", ".join(sorted(targets.TARGETS))
                raise CommandError(f"--policy: no retention policy {name!r}; known: {known}")
            policies = policies.filter(target=name)
            if not policies:
                raise CommandError(f"--policy: {name!r} has no policy yet; run `manage.py migrate` to create it")
        failed = False
        for policy in policies:
            if not policy.enabled:
                if name:
                    self.stdout.write(f"retention {policy.target}: disabled, nothing done (enable it in the admin)")
                continue
            target = policy.get_target()
            total = retention.count(target, retention.cutoff_for(policy.keep_days))
            with self._progress(total, policy.target, verbosity) as bar:
                try:
                    outcome = run_policy(policy, dry_run=dry_run, on_batch=lambda _o, n, bar=bar: bar.update(n))
                except PolicyBusy as exc:
                    self.stderr.write(str(exc))
                    failed = True
                    continue
            self.stdout.write(outcome.summary())
        if failed:
            raise CommandError("some policies did not run (see above)")

    def _progress(self, total: int, desc: str, verbosity: int):
        from tqdm import tqdm

        return tqdm(total=total, desc=desc, unit="row", file=sys.stderr,
                    disable=not sys.stderr.isatty() or verbosity < 1)
