"""Encrypted fields: round trip, key rotation by the command, and a database dump without secrets."""
import json
from base64 import b32encode
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from accounts.fields import fernet
from accounts.models import ApiKey, AuthenticatorDevice, UserSetting
from accounts.services import apikeys, otp
from tests.accounts.conftest import enroll, totp_code
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

SECRET = {"token": "broker-access-token-7f3a9c", "pin": "4321"}


def raw_column(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cur:  # raw SQL: the ORM would decrypt
        cur.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        return cur.fetchone()[0]


def seed_forms(device: AuthenticatorDevice) -> list[str]:
    """Every way the TOTP seed could be written: hex (both cases), base32 (plain, padded, grouped)."""
    grouped = otp.secret_text(device)
    return [device.key, device.key.lower(), device.key.upper(), device.base32_key,
            device.base32_key.lower(), b32encode(device.bin_key).decode(), grouped]


def test_encrypted_values_round_trip_and_are_stored_as_tokens(trader):
    setting = UserSetting(user=trader, key="broker_auth", is_encrypted=True)
    setting.set_value(SECRET)
    setting.save()
    stored = raw_column("accounts_usersetting", "encrypted_value", setting.pk)
    assert stored.startswith("gAAAA")
    assert "broker-access-token" not in stored
    assert UserSetting.objects.get(pk=setting.pk).get_value() == SECRET


def test_rotation_re_encrypts_everything_under_the_newest_key(settings, trader):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FERNET_KEYS = [old]
    key, raw = apikeys.create_key(trader, "bot")
    setting = UserSetting(user=trader, key="broker_auth", is_encrypted=True)
    setting.set_value(SECRET)
    setting.save()
    empty = UserSetting.objects.create(user=trader, key="plain", value=1)  # NULL ciphertext is skipped
    before = (raw_column("accounts_apikey", "key_encrypted", key.pk),
              raw_column("accounts_usersetting", "encrypted_value", setting.pk))

    settings.FERNET_KEYS = [new, old]
    out = StringIO()
    call_command("rotate_encryption_keys", "--batch-size", "1", stdout=out, stderr=StringIO())
    assert "accounts.ApiKey: 1 value(s) re-encrypted" in out.getvalue()
    assert "accounts.UserSetting: 1 value(s) re-encrypted" in out.getvalue()
    after = (raw_column("accounts_apikey", "key_encrypted", key.pk),
             raw_column("accounts_usersetting", "encrypted_value", setting.pk))
    assert after[0] != before[0]
    assert after[1] != before[1]
    for token in after:
        Fernet(new.encode()).decrypt(token.encode())  # readable with the new key alone

    out = StringIO()
    call_command("rotate_encryption_keys", stdout=out, stderr=StringIO())  # safe to re-run
    assert "accounts.ApiKey: 0 value(s) re-encrypted, 1 already under the newest key" in out.getvalue()

    settings.FERNET_KEYS = [new]
    assert ApiKey.objects.get(pk=key.pk).key_encrypted == raw
    assert UserSetting.objects.get(pk=setting.pk).get_value() == SECRET
    assert UserSetting.objects.get(pk=empty.pk).get_value() == 1
    assert apikeys.reveal(ApiKey.objects.get(pk=key.pk), PASSWORD) == raw


def test_rotation_stops_with_a_clear_error_when_a_needed_key_was_dropped(settings, trader):
    from django.core.management.base import CommandError

    settings.FERNET_KEYS = [Fernet.generate_key().decode()]
    apikeys.create_key(trader, "bot")
    settings.FERNET_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(CommandError, match="no key in FERNET_KEYS"):
        call_command("rotate_encryption_keys", stdout=StringIO(), stderr=StringIO())


def test_a_full_database_dump_holds_no_password_api_key_or_secret():
    password = "a-known-Passw0rd-for-the-dump"
    user = UserFactory(password="!")
    user.set_password(password)
    user.save()
    _, raw = apikeys.create_key(user, "bot")
    secret_part = raw.split(".", 1)[1]
    setting = UserSetting(user=user, key="broker_auth", is_encrypted=True)
    setting.set_value(SECRET)
    setting.save()
    device = enroll(user)
    backup_codes = otp.generate_backup_codes(user)
    seeds = seed_forms(device)
    needles = [password, raw, secret_part, SECRET["token"], *backup_codes, *seeds]

    out = StringIO()
    call_command("dumpdata", stdout=out)
    dump = out.getvalue()
    assert str(user.username) in dump  # the dump is real
    assert '"model": "accounts.authenticatordevice"' in dump  # and holds the device
    for needle in needles:
        assert needle not in dump

    # The dump's token loads back to the same plaintext (loaddata goes through to_python).
    from django.core import serializers
    row = next(o for o in serializers.deserialize("json", dump) if isinstance(o.object, UserSetting)
               and o.object.key == "broker_auth")
    assert row.object.encrypted_value == SECRET
    row = next(o for o in serializers.deserialize("json", dump) if isinstance(o.object, AuthenticatorDevice))
    assert row.object.key == device.key

    seen_rows = 0
    with connection.cursor() as cur:
        for table in connection.introspection.table_names():
            columns = [c.name for c in connection.introspection.get_table_description(cur, table)]
            quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
            cur.execute(f"SELECT {quoted} FROM {connection.ops.quote_name(table)}")
            for values in cur.fetchall():
                seen_rows += 1
                text = json.dumps([str(v) for v in values])
                for needle in needles:
                    assert needle not in text, f"{needle[:6]}… found in {table}"
    assert seen_rows > 0
    stored = raw_column("accounts_authenticatordevice", "key", device.pk)  # the row was there to be seen
    assert stored.startswith("gAAAA")
    assert fernet().decrypt(stored.encode()).decode() == device.key


def test_the_rotation_finds_encrypted_fields_in_every_app():
    from django.apps import apps

    from accounts.fields import EncryptedTextField
    from accounts.management.commands.rotate_encryption_keys import encrypted_models

    found = {model: set(names) for model, names in encrypted_models()}
    expected = {model: {f.name for f in model._meta.get_fields() if isinstance(f, EncryptedTextField)}
                for model in apps.get_models() if not model._meta.proxy}
    assert found == {m: names for m, names in expected.items() if names}
    assert found[ApiKey] == {"key_encrypted"}
    assert found[UserSetting] == {"encrypted_value"}
    assert found[AuthenticatorDevice] == {"key"}


def test_the_totp_seed_is_stored_encrypted_and_rotation_re_encrypts_it(settings, trader):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FERNET_KEYS = [old]
    device = enroll(trader)
    seed = device.key
    before = raw_column("accounts_authenticatordevice", "key", device.pk)
    assert before.startswith("gAAAA")
    for form in seed_forms(device):
        assert form not in before
    assert Fernet(old.encode()).decrypt(before.encode()).decode() == seed

    settings.FERNET_KEYS = [new, old]
    out = StringIO()
    call_command("rotate_encryption_keys", stdout=out, stderr=StringIO())
    assert "accounts.AuthenticatorDevice: 1 value(s) re-encrypted" in out.getvalue()
    after = raw_column("accounts_authenticatordevice", "key", device.pk)
    assert after != before
    assert Fernet(new.encode()).decrypt(after.encode()).decode() == seed

    settings.FERNET_KEYS = [new]  # the old key is gone: the seed must be readable with the new one alone
    device = AuthenticatorDevice.objects.get(pk=device.pk)
    assert device.key == seed
    code = totp_code(device)
    assert device.verify_token(code)
    assert otp.verify(trader, code) is None  # the same code again: refused as a replay
    # Verifying wrote the device without touching the seed's token.
    assert raw_column("accounts_authenticatordevice", "key", device.pk) == after
