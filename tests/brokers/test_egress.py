"""Egress per trading account: a source address to bind or a proxy, honoured by the openalgo adapter's
pooled clients, asserted by the client address a real upstream on loopback saw (Linux routes all of
127.0.0.0/8 to the loopback interface, so 127.0.0.2 and 127.0.0.3 are local addresses)."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from brokers.adapters.base import OrderSpec
from brokers.adapters.egress import Egress, egress_problems
from brokers.models import TradingAccount
from brokers.services import accounts as services
from brokers.services import health
from tests.api.conftest import persona
from tests.brokers.factories import TradingAccountFactory
from tests.brokers.loopback_proxies import HttpForwardProxy, Socks5Proxy
from tests.brokers.loopback_upstream import LoopbackUpstream

pytestmark = pytest.mark.django_db

KEYS = ("key-of-a", "key-of-b", "key-of-c")


@pytest.fixture
def upstream():
    server = LoopbackUpstream("egress", api_keys=KEYS)
    yield server
    server.stop()


def on(upstream: LoopbackUpstream, user, key: str, **egress) -> TradingAccount:
    return TradingAccountFactory(user=user, credentials={"host_url": upstream.url, "api_key": key}, **egress)


def buy() -> OrderSpec:
    return OrderSpec(exchange="NSE", symbol="SBIN", action="BUY", quantity=Decimal("1"))


def test_each_accounts_orders_and_checks_leave_from_its_own_source_address(trader, other_trader, upstream):
    a = on(upstream, trader, KEYS[0], egress_source_address="127.0.0.2")
    b = on(upstream, other_trader, KEYS[1], egress_source_address="127.0.0.3")
    plain = on(upstream, other_trader, KEYS[2])
    for _ in range(3):  # interleaved, over warm pooled connections
        for account in (a, b, plain):
            services.adapter_for(account).place_order(buy())
        health.run_checks()
    assert upstream.clients(KEYS[0]) == {"127.0.0.2"}
    assert upstream.clients(KEYS[1]) == {"127.0.0.3"}
    assert upstream.clients(KEYS[2]) == {"127.0.0.1"}
    assert upstream.count("placeorder") == 9
    assert upstream.count("ping") == 9


def test_accounts_through_a_proxy_go_only_through_their_own(trader, other_trader, upstream):
    http_proxy, socks = HttpForwardProxy(), Socks5Proxy()
    try:
        a = on(upstream, trader, KEYS[0], egress_proxy_url=http_proxy.url)
        b = on(upstream, other_trader, KEYS[1], egress_proxy_url=socks.url)
        c = on(upstream, other_trader, KEYS[2], egress_source_address="127.0.0.3")
        for account in (a, b, c):
            services.adapter_for(account).place_order(buy())
            assert health.ping(TradingAccount.objects.get(pk=account.pk)).ok
        assert http_proxy.relayed == [f"{upstream.url}/api/v1/placeorder", f"{upstream.url}/api/v1/ping"]
        assert socks.connects == [("127.0.0.1", upstream.port)] * 2  # the upstream closes after each answer
        assert upstream.clients(KEYS[2]) == {"127.0.0.3"}
    finally:
        http_proxy.stop()
        socks.stop()


def test_the_proxy_url_is_stored_encrypted(trader, upstream):
    from django.db import connection

    account = on(upstream, trader, KEYS[0], egress_proxy_url="socks5://user:s3cret-pass@127.0.0.1:1080")
    with connection.cursor() as cursor:
        cursor.execute("SELECT egress_proxy_url FROM brokers_tradingaccount WHERE id = %s", [account.pk])
        stored = cursor.fetchone()[0]
    assert "s3cret-pass" not in stored
    assert TradingAccount.objects.get(pk=account.pk).egress_proxy_url.endswith("@127.0.0.1:1080")
    assert "s3cret" not in Egress(proxy_url=account.egress_proxy_url).describe()


@pytest.mark.parametrize(("source", "proxy", "field", "message"), [
    ("203.0.113.7", "", "egress_source_address", "not an address of this server"),
    ("0.0.0.0", "", "egress_source_address", "not a usable source address"),
    ("nonsense", "", "egress_source_address", "not an IP address"),
    ("", "ftp://127.0.0.1:21", "egress_proxy_url", "scheme must be one of"),
    ("", "socks5://127.0.0.1", "egress_proxy_url", "names no port"),
    ("", "http://:8080", "egress_proxy_url", "names no host"),
    ("127.0.0.2", "http://127.0.0.1:3128", "egress_proxy_url", "not both"),
])
def test_a_bad_egress_is_refused_naming_the_field(trader, source, proxy, field, message):
    assert message in egress_problems(source, proxy)[field]
    account = TradingAccountFactory.build(user=trader, egress_source_address=source or None,
                                          egress_proxy_url=proxy or None)
    if source != "nonsense":  # the model field itself refuses a non-address first
        with pytest.raises(ValidationError) as info:
            account.clean()
        assert field in info.value.message_dict


def test_the_api_refuses_an_address_that_is_not_local_naming_the_field(trader):
    owner = persona(trader, analyze=False)
    body = {"name": "zerodha", "broker": "openalgo", "egress_source_address": "203.0.113.7",
            "credentials": {"host_url": "http://127.0.0.1:9", "api_key": "k"}}
    response = owner.post("accounts/", body)
    assert response.status_code == 400
    assert "egress_source_address" in response.json()
    body.update(egress_source_address="127.0.0.2", egress_proxy_url="socks5://127.0.0.1:1080")
    response = owner.post("accounts/", body)
    assert response.status_code == 400
    assert "not both" in response.json()["egress_proxy_url"][0]
    del body["egress_proxy_url"]
    response = owner.post("accounts/", body)
    assert response.status_code == 201, response.json()
    assert response.json()["egress_source_address"] == "127.0.0.2"
    assert response.json()["egress_proxy_set"] is False
    assert "egress_proxy_url" not in response.json()
