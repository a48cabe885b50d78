"""Re-encrypt every encrypted column of every model under the newest key in FERNET_KEYS.

Rotation: put a new key first in FERNET_KEYS (keep the old ones after it), run this command, then
drop the old keys. Models are found at run time (accounts.fields.encrypted_fields over all models), so
encrypted columns added later by other apps are covered. Values are read as raw ciphertext and
rotated with MultiFernet.rotate; rows already under the newest key are left alone, so a re-run after
an interruption only finishes the remainder. Each batch is one transaction over rows locked with
select_for_update.
"""
from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken
from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models, transaction
from django.db.models.functions import Cast
from tqdm import tqdm

from accounts.fields import encrypted_fields, fernet


def encrypted_models() -> list[tuple[type[models.Model], list[str]]]:
    found = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        names = encrypted_fields(model)
        if names:
            found.append((model, names))
    return found


class Command(BaseCommand):
    help = "Re-encrypt every encrypted model field under the newest key in FERNET_KEYS (safe to re-run)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500, help="Rows per transaction (default 500).")

    def handle(self, *args, **options) -> None:
        batch_size = options["batch_size"]
        if batch_size < 1:
            raise CommandError("--batch-size must be 1 or more.")
        self.newest = Fernet(settings.FERNET_KEYS[0].encode())
        self.rotator = fernet()
        targets = encrypted_models()
        if not targets:
            self.stdout.write("No encrypted fields found.")
            return
        for model, names in targets:
            rotated, current = self._rotate_model(model, names, batch_size)
            self.stdout.write(f"{model._meta.label}: {rotated} value(s) re-encrypted, {current} already under "
                              f"the newest key ({', '.join(names)})")
        self.stdout.write(self.style.SUCCESS("Every encrypted value is under the newest key."))

    def _rotate_model(self, model: type[models.Model], names: list[str], batch_size: int) -> tuple[int, int]:
        manager = model._base_manager
        # Cast to plain text so the ORM hands back the stored ciphertext instead of decrypting it.
        raw = {f"raw_{name}": Cast(name, output_field=models.TextField()) for name in names}
        rotated = current = 0
        last_pk = None
        total = manager.count()
        with tqdm(total=total, desc=model._meta.label, unit="row", disable=total == 0) as bar:
            while True:
                with transaction.atomic():
                    batch = manager.select_for_update().order_by("pk")
                    if last_pk is not None:
                        batch = batch.filter(pk__gt=last_pk)
                    rows = list(batch.annotate(**raw).values("pk", *raw.keys())[:batch_size])
                    for row in rows:
                        updates = {}
                        for name in names:
                            token = row[f"raw_{name}"]
                            if token is None:
                                continue
                            if self._is_current(token):
                                current += 1
                                continue
                            updates[name] = models.Value(self._rotate(model, name, row["pk"], token),
                                                         output_field=models.TextField())
                        if updates:
                            manager.filter(pk=row["pk"]).update(**updates)
                            rotated += len(updates)
                if not rows:
                    break
                last_pk = rows[-1]["pk"]
                bar.update(len(rows))
        return rotated, current

    def _is_current(self, token: str) -> bool:
        try:
            self.newest.decrypt(token.encode())
        except InvalidToken:
            return False
        return True

    def _rotate(self, model: type[models.Model], name: str, pk, token: str) -> str:
        try:
            return self.rotator.rotate(token.encode()).decode()
        except InvalidToken as exc:
            raise CommandError(f"{model._meta.label} pk={pk} field {name}: no key in FERNET_KEYS decrypts it "
                               "(was an old key dropped before the rotation finished?)") from exc
