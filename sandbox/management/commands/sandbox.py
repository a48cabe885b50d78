"""Sandbox operations: `manage.py sandbox reset USERNAME`."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from sandbox.services.funds import check_invariant
from sandbox.services.reset import reset_user


class Command(BaseCommand):
    help = "Sandbox operations."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        reset = sub.add_parser("reset", help="Reset a user's sandbox to the configured starting capital.")
        reset.add_argument("username")

    def handle(self, *args, action: str, username: str, **options) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        reset_user(user.pk)
        funds = check_invariant(user.pk)
        self.stdout.write(f"Sandbox of {username} reset: available {funds.available}.")
