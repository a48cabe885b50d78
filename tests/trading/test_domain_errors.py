"""Domain errors carry a kind; each API maps kinds to HTTP once, at its edge, so one fault is one answer."""
from __future__ import annotations

import pytest

from brokers.adapters.base import BrokerError, BrokerUnavailable
from sandbox.adapter import SandboxAdapter
from tests.trading.conftest import make_trader
from tests.trading.factories import OrderFactory, TradingAccountFactory
from trading.openalgo_api.base import ApiError
from trading.services.errors import ErrorKind, TradingError, from_broker

pytestmark = pytest.mark.django_db


@pytest.fixture
def live(market):
    trader = make_trader(analyze=False)
    TradingAccountFactory(user=trader.user, name="main")
    return trader


@pytest.mark.parametrize(("fault", "status"), [
    (BrokerError("The account's credentials are not usable.", permanent=True), 400),
    (BrokerUnavailable("The broker is unreachable."), 500),
], ids=["permanent", "unavailable"])
def test_a_broker_fault_is_the_same_answer_on_every_endpoint(live, monkeypatch, fault, status):
    def broken(self, *args):
        raise fault

    for name in ("funds", "cancel_order", "order_book", "positions"):
        monkeypatch.setattr(SandboxAdapter, name, broken)
    answers = [live.post("funds"), live.post("cancelorder", {"orderid": "X1", "strategy": "s"}),
               live.post("orderbook"), live.post("closeposition", {"strategy": "s"})]
    assert [a.status_code for a in answers] == [status] * 4, [a.content for a in answers]
    assert all(fault.message in a.json()["message"] for a in answers)


def test_domain_errors_are_not_the_view_layers_and_carry_a_kind():
    assert not issubclass(TradingError, ApiError)
    assert from_broker(BrokerError("x", permanent=True)).kind == ErrorKind.REJECTED
    assert from_broker(BrokerUnavailable("x")).kind == ErrorKind.UNAVAILABLE


def test_the_resource_apis_cancel_answers_a_permanent_broker_fault_with_400(live, monkeypatch):
    # Found by the random fuzz: an account whose credentials are unusable answered 500 on /api/orders/<id>/cancel/.
    def broken(self, *args):
        raise BrokerError("OpenAlgo credential api_key is not set.", permanent=True)

    monkeypatch.setattr(SandboxAdapter, "cancel_order", broken)
    order = OrderFactory(user=live.user, account=live.user.trading_accounts.get())
    response = live.client.post(f"/api/orders/{order.pk}/cancel/", HTTP_X_API_KEY=live.key)
    assert response.status_code == 400, response.content
    assert "api_key is not set" in str(response.json())
