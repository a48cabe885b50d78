"""Fixtures for the brokers tests: personas, a verified operator session in the admin."""
from __future__ import annotations

import pytest

from brokers.adapters.openalgo import close_clients
from tests.accounts.conftest import enroll, sign_in
from tests.factories import StaffFactory, UserFactory


@pytest.fixture
def trader(db):
    return UserFactory()


@pytest.fixture
def other_trader(db):
    return UserFactory()


@pytest.fixture
def operator(db):
    return StaffFactory()


@pytest.fixture
def staff_client(client, operator):
    return sign_in(client, operator, enroll(operator))


@pytest.fixture(autouse=True)
def _fresh_http_clients():
    # Pooled clients are per process; tests must not share sockets to servers that went away.
    yield
    close_clients()
