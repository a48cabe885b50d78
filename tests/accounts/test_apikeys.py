from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from accounts.models import ApiKey, OrderMode
from accounts.services import apikeys
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_it_verifies_a_new_key_and_caches_it(django_assert_num_queries):
    user = UserFactory()
    key, raw = apikeys.create_key(user, "bot", OrderMode.SEMI_AUTO)
    found = apikeys.verify(raw)
    assert found.user_id == user.id
    assert found.key_id == key.id
    assert found.semi_auto
    with django_assert_num_queries(0):
        assert apikeys.verify(raw) == found


def test_it_stores_neither_the_key_nor_an_unsalted_hash():
    key, raw = apikeys.create_key(UserFactory(), "bot")
    with connection.cursor() as cur:  # raw SQL: the ORM would decrypt the column
        cur.execute("SELECT key_hash, key_encrypted FROM accounts_apikey WHERE id = %s", [key.pk])
        key_hash, stored = cur.fetchone()
    assert raw not in key_hash
    assert raw not in stored
    assert key_hash.startswith("$argon2id$")
    assert stored.startswith("gAAAA")
    assert key.key_encrypted == raw  # the encrypted copy decrypts back


def test_it_rejects_a_wrong_secret_with_the_right_prefix():
    _, raw = apikeys.create_key(UserFactory(), "bot")
    prefix = raw.split(".")[0]
    assert apikeys.verify(prefix + ".not-the-secret") is None
    assert apikeys.verify("garbage") is None
    assert apikeys.verify("") is None


def test_the_pepper_is_part_of_the_hash(settings):
    _, raw = apikeys.create_key(UserFactory(), "bot")
    settings.API_KEY_PEPPER = "another-pepper"
    assert apikeys.verify(raw) is None


def test_it_caches_invalid_keys_briefly(django_assert_num_queries):
    assert apikeys.verify("abcdef.unknown") is None
    with django_assert_num_queries(0):
        assert apikeys.verify("abcdef.unknown") is None


def test_revoking_drops_the_cached_entry_at_once():
    key, raw = apikeys.create_key(UserFactory(), "bot")
    assert apikeys.verify(raw) is not None
    apikeys.revoke(key)
    assert cache.get(apikeys.cache_key(raw)) != {"user_id": key.user_id}
    assert apikeys.verify(raw) is None


def test_changing_the_mode_is_seen_at_once():
    key, raw = apikeys.create_key(UserFactory(), "bot")
    assert not apikeys.verify(raw).semi_auto
    apikeys.change(key, order_mode=OrderMode.SEMI_AUTO)
    assert apikeys.verify(raw).semi_auto


def test_an_expired_key_stops_working_even_when_cached():
    key, raw = apikeys.create_key(UserFactory(), "bot", expires_at=timezone.now() + timedelta(hours=1))
    assert apikeys.verify(raw) is not None
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    apikeys.forget(key)
    assert apikeys.verify(raw) is None


def test_a_cached_entry_past_its_expiry_is_refused(monkeypatch):
    _key, raw = apikeys.create_key(UserFactory(), "bot", expires_at=timezone.now() + timedelta(hours=1))
    assert apikeys.verify(raw) is not None
    later = timezone.now() + timedelta(hours=2)
    monkeypatch.setattr(apikeys.timezone, "now", lambda: later)
    assert apikeys.verify(raw) is None


def test_reveal_needs_the_password():
    user = UserFactory()
    key, raw = apikeys.create_key(user, "bot")
    with pytest.raises(apikeys.ApiKeyError, match="password"):
        apikeys.reveal(key, "wrong")
    from tests.factories import PASSWORD
    assert apikeys.reveal(key, PASSWORD) == raw


def test_key_names_are_unique_per_user():
    user = UserFactory()
    apikeys.create_key(user, "bot")
    with pytest.raises(apikeys.ApiKeyError, match="name"):
        apikeys.create_key(user, "bot")
    apikeys.create_key(UserFactory(), "bot")  # another user may reuse the name


def test_verification_does_one_indexed_lookup_whatever_the_number_of_keys(django_assert_num_queries):
    users = UserFactory.create_batch(3)
    raws = [apikeys.create_key(u, f"k{i}")[1] for i, u in enumerate(users * 2)]
    cache.clear()
    # one SELECT by prefix, plus the at-most-once-a-minute last_used_at UPDATE
    with django_assert_num_queries(2):
        assert apikeys.verify(raws[-1]) is not None


def test_the_cached_entry_carries_no_password_hash():
    user = UserFactory()
    _, raw = apikeys.create_key(user, "bot")
    _found, cached_user = apikeys.verify_with_user(raw)
    assert cached_user.pk == user.pk
    entry = cache.get(apikeys.cache_key(raw))
    import pickle

    assert user.password.encode() not in pickle.dumps(entry)
