"""Manage API keys from the shell: create (prints the key alone on the last line), revoke, list."""
from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.models import ApiKey, OrderMode, User
from accounts.services import apikeys


class Command(BaseCommand):
    help = "Create, revoke or list API keys. `create` prints the new key alone on its last line."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a key for a user.")
        create.add_argument("username")
        create.add_argument("--name", default="default")
        create.add_argument("--mode", default=OrderMode.AUTO, help="auto, semi_auto or read_only")
        create.add_argument("--expires-days", type=int, default=None)
        revoke = sub.add_parser("revoke", help="Revoke a key by its prefix.")
        revoke.add_argument("prefix")
        listing = sub.add_parser("list", help="List a user's keys (never the secret).")
        listing.add_argument("username")

    def handle(self, *args, **options) -> None:
        getattr(self, f"_{options['action']}")(options)

    def _user(self, username: str) -> User:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        return user

    def _create(self, options: dict) -> None:
        user = self._user(options["username"])
        mode = options["mode"]
        if mode not in OrderMode.values:
            raise CommandError(f"--mode must be one of {', '.join(OrderMode.values)}, not {mode!r}.")
        days = options["expires_days"]
        if days is not None and days < 1:
            raise CommandError("--expires-days must be 1 or more.")
        expires_at = timezone.now() + timedelta(days=days) if days else None
        try:
            key, raw = apikeys.create_key(user, options["name"], mode, expires_at)
        except apikeys.ApiKeyError as exc:
            raise CommandError(str(exc)) from exc
        expiry = f"expires {key.expires_at:%Y-%m-%d %H:%M %Z}" if key.expires_at else "does not expire"
        self.stdout.write(f"Created key {key.name!r} ({key.prefix}) for {user}, mode {key.order_mode}, {expiry}. "
                          "It is shown once:")
        self.stdout.write(raw)

    def _revoke(self, options: dict) -> None:
        prefix = options["prefix"].split(".")[0]
        key = ApiKey.objects.select_related("user").filter(prefix=prefix).first()
        if key is None:
            raise CommandError(f"No API key with prefix {prefix!r}.")
        if not key.is_active:
            self.stdout.write(f"Key {key.prefix} of {key.user} was already revoked.")
            return
        apikeys.revoke(key)
        self.stdout.write(self.style.SUCCESS(f"Revoked key {key.name!r} ({key.prefix}) of {key.user}."))

    def _list(self, options: dict) -> None:
        user = self._user(options["username"])
        rows = [("PREFIX", "NAME", "MODE", "ACTIVE", "CREATED", "LAST USED", "EXPIRES")]
        for key in ApiKey.objects.for_user(user).order_by("created_at"):
            rows.append((
                key.prefix, key.name, key.order_mode, "yes" if key.is_active and not key.is_expired else "no",
                _when(key.created_at), _when(key.last_used_at), _when(key.expires_at),
            ))
        if len(rows) == 1:
            self.stdout.write(f"{user} has no API keys.")
            return
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            self.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "-"
