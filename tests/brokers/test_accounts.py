"""Trading accounts: one primary per user, encrypted credentials, scoping, health, adapters."""
from __future__ import annotations

import threading
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from brokers.adapters.openalgo import OpenAlgoAdapter
from brokers.models import ConnectionStatus, TradingAccount
from brokers.services import accounts as services
from brokers.services import health
from tests.brokers.factories import TradingAccountFactory

pytestmark = pytest.mark.django_db


def test_it_refuses_a_second_primary_account_in_the_database(trader):
    TradingAccountFactory(user=trader, is_primary=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        TradingAccount.objects.bulk_create([TradingAccount(user=trader, name="second", broker="openalgo",
                                                           is_primary=True)])


def test_it_allows_one_primary_per_user_for_different_users(trader, other_trader):
    TradingAccountFactory(user=trader, is_primary=True)
    TradingAccountFactory(user=other_trader, is_primary=True)
    assert TradingAccount.objects.filter(is_primary=True).count() == 2


def test_it_refuses_two_accounts_with_the_same_name_for_one_user(trader, other_trader):
    TradingAccountFactory(user=trader, name="zerodha")
    TradingAccountFactory(user=other_trader, name="zerodha")
    with pytest.raises(IntegrityError), transaction.atomic():
        TradingAccountFactory(user=trader, name="zerodha")


def test_make_primary_switches_the_primary(trader):
    old = TradingAccountFactory(user=trader, is_primary=True)
    new = TradingAccountFactory(user=trader)
    services.make_primary(new)
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.is_primary, new.is_primary) == (False, True)
    assert services.primary_account(trader) == new


def test_make_primary_leaves_other_users_alone(trader, other_trader):
    theirs = TradingAccountFactory(user=other_trader, is_primary=True)
    services.make_primary(TradingAccountFactory(user=trader))
    theirs.refresh_from_db()
    assert theirs.is_primary


def test_make_primary_is_all_or_nothing(trader, monkeypatch):
    old = TradingAccountFactory(user=trader, is_primary=True)
    new = TradingAccountFactory(user=trader)
    real_filter = TradingAccount.objects.filter
    calls = []

    def failing_filter(*args, **kwargs):
        calls.append(kwargs)
        if kwargs == {"pk": new.pk}:  # the second write: setting the new primary
            raise IntegrityError("simulated failure")
        return real_filter(*args, **kwargs)

    monkeypatch.setattr(TradingAccount.objects, "filter", failing_filter)
    with pytest.raises(IntegrityError):
        services.make_primary(new)
    monkeypatch.undo()
    old.refresh_from_db()
    assert old.is_primary  # the unset was rolled back with the failed set


def test_it_refuses_to_make_an_inactive_account_primary(trader):
    account = TradingAccountFactory(user=trader, is_active=False)
    with pytest.raises(services.AccountError, match="inactive"):
        services.make_primary(account)


@pytest.mark.postgres  # SQLite's in-memory test database locks whole tables across threads
@pytest.mark.django_db(transaction=True)
def test_concurrent_make_primary_leaves_exactly_one_primary(trader):
    accounts = [TradingAccountFactory(user=trader) for _ in range(4)]
    errors = []

    def switch(account):
        try:
            services.make_primary(account)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=switch, args=(a,)) for a in accounts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert TradingAccount.objects.filter(user=trader, is_primary=True).count() == 1


def test_primary_account_ignores_an_inactive_primary(trader):
    TradingAccountFactory(user=trader, is_primary=True, is_active=False)
    assert services.primary_account(trader) is None


def test_for_user_returns_only_the_owners_accounts(trader, other_trader):
    mine = TradingAccountFactory(user=trader)
    TradingAccountFactory(user=other_trader)
    assert list(TradingAccount.objects.for_user(trader)) == [mine]


def test_credentials_are_encrypted_in_the_database(trader):
    account = TradingAccountFactory(user=trader, credentials={"host_url": "http://h:5000", "api_key": "SECRET-123"})
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials FROM brokers_tradingaccount WHERE id = %s", [account.pk])
        raw = cursor.fetchone()[0]
    assert "SECRET-123" not in raw
    assert "host_url" not in raw
    assert TradingAccount.objects.get(pk=account.pk).credentials["api_key"] == "SECRET-123"


def test_clean_rejects_an_unknown_broker(trader):
    account = TradingAccountFactory.build(user=trader, broker="no-such-broker")
    with pytest.raises(ValidationError) as info:
        account.full_clean()
    assert "broker" in info.value.message_dict


def test_adapter_for_passes_the_decrypted_credentials(trader):
    account = TradingAccountFactory(user=trader, credentials={"host_url": "http://h:5000/", "api_key": "k-1"})
    adapter = services.adapter_for(TradingAccount.objects.get(pk=account.pk))
    assert isinstance(adapter, OpenAlgoAdapter)
    assert adapter.context.account_id == account.pk
    assert adapter.context.user_id == trader.pk
    assert (adapter.host_url, adapter.api_key) == ("http://h:5000", "k-1")


def test_a_recorded_check_marks_connected_then_degraded_then_failed_and_counts_streaks(trader):
    account = TradingAccountFactory(user=trader)
    health.record(account, health.PingResult(True, "ok"))
    account.refresh_from_db()
    assert account.connection_status == ConnectionStatus.CONNECTED
    assert account.last_connected_at is not None
    assert (account.consecutive_successes, account.consecutive_failures) == (1, 0)
    health.record(account, health.PingResult(False, "timed out"))
    account.refresh_from_db()
    assert (account.connection_status, account.last_error) == (ConnectionStatus.DEGRADED, "timed out")
    health.record(account, health.PingResult(False, "timed out again"))
    account.refresh_from_db()
    assert account.connection_status == ConnectionStatus.FAILED
    assert (account.consecutive_successes, account.consecutive_failures) == (0, 2)


def test_a_recorded_check_never_overwrites_credentials_from_a_stale_copy(trader):
    account = TradingAccountFactory(user=trader)
    stale = TradingAccount.objects.get(pk=account.pk)
    account.credentials = {**account.credentials, "api_key": "rotated"}
    account.save()
    health.record(stale, health.PingResult(True, "ok"))
    assert TradingAccount.objects.get(pk=account.pk).credentials["api_key"] == "rotated"


def test_check_connection_records_an_unreachable_broker(trader):
    # Port 9 on localhost: nothing listens, the connection is refused at once.
    account = TradingAccountFactory(user=trader, credentials={"host_url": "http://127.0.0.1:9", "api_key": "k"})
    ok, message = health.check_connection(account)
    account.refresh_from_db()
    assert not ok
    assert "unreachable" in message
    assert account.connection_status == ConnectionStatus.FAILED


def test_key_rotation_re_encrypts_trading_account_credentials(settings, trader):
    old, new = settings.FERNET_KEYS[0], Fernet.generate_key().decode()
    account = TradingAccountFactory(user=trader, credentials={"host_url": "http://h:5000", "api_key": "K-1"})
    settings.FERNET_KEYS = [new, old]
    out = StringIO()
    call_command("rotate_encryption_keys", stdout=out, stderr=StringIO())
    assert "brokers.TradingAccount: 1 value(s) re-encrypted" in out.getvalue()
    settings.FERNET_KEYS = [new]  # the old key dropped: still readable
    assert TradingAccount.objects.get(pk=account.pk).credentials["api_key"] == "K-1"
