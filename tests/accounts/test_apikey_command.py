"""`manage.py apikey create|revoke|list`."""
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import ApiKey, OrderMode
from accounts.services import apikeys

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("apikey", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_create_prints_a_working_key_alone_on_the_last_line(trader):
    output = run("create", trader.username, "--name", "tv", "--mode", "semi_auto", "--expires-days", "30")
    raw = output.strip().splitlines()[-1]
    found = apikeys.verify(raw)
    assert found.user_id == trader.id
    assert found.order_mode == OrderMode.SEMI_AUTO
    assert ApiKey.objects.get(prefix=raw.split(".")[0]).expires_at is not None


def test_list_shows_the_keys_but_never_a_secret(trader):
    raw = run("create", trader.username, "--name", "tv").strip().splitlines()[-1]
    output = run("list", trader.username)
    header, row = output.splitlines()
    for column in ("PREFIX", "NAME", "MODE", "ACTIVE", "CREATED", "LAST USED", "EXPIRES"):
        assert column in header
    assert raw.split(".")[0] in row
    assert "tv" in row
    assert raw not in output
    assert raw.split(".")[1] not in output


def test_revoke_by_prefix_stops_the_key(trader):
    raw = run("create", trader.username).strip().splitlines()[-1]
    assert apikeys.verify(raw) is not None
    assert "Revoked" in run("revoke", raw.split(".")[0])
    assert apikeys.verify(raw) is None
    assert "no" in run("list", trader.username).splitlines()[1]


@pytest.mark.parametrize(("args", "message"), [
    (("create", "nobody"), "No user named 'nobody'"),
    (("list", "nobody"), "No user named 'nobody'"),
    (("revoke", "abcdef"), "No API key with prefix 'abcdef'"),
    (("create", "{user}", "--mode", "yolo"), "--mode must be one of auto, semi_auto"),
    (("create", "{user}", "--expires-days", "0"), "--expires-days must be 1 or more"),
])
def test_it_refuses_bad_input_with_a_clear_error(trader, args, message):
    args = [a.format(user=trader.username) for a in args]
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_a_duplicate_name_is_a_command_error(trader):
    run("create", trader.username, "--name", "tv")
    with pytest.raises(CommandError, match="name"):
        run("create", trader.username, "--name", "tv")
