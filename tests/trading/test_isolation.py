"""Another trader's key can neither read nor change the owner's orders through any order endpoint."""
import pytest

from sandbox.models import SandboxOrder
from tests.trading.conftest import order
from trading.models import Order, OrderStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def resting(trader):
    """The owner's resting LIMIT order."""
    response = trader.post("placeorder", order(pricetype="LIMIT", price="700", quantity="2"))
    assert response.status_code == 200
    return response.json()["orderid"]


def test_a_stranger_cannot_read_the_status(stranger, resting):
    response = stranger.post("orderstatus", {"strategy": "s", "orderid": resting})
    assert response.status_code == 404
    assert response.json()["status"] == "error"


def test_a_stranger_cannot_cancel(stranger, resting):
    assert stranger.post("cancelorder", {"strategy": "s", "orderid": resting}).status_code == 404
    assert SandboxOrder.objects.get(order_id=resting).status == OrderStatus.OPEN


def test_a_stranger_cannot_modify(stranger, resting):
    response = stranger.post("modifyorder", order(orderid=resting, pricetype="LIMIT", price="710", quantity="2",
                                                  disclosed_quantity="0", trigger_price="0"))
    assert response.status_code == 404
    assert SandboxOrder.objects.get(order_id=resting).price == 700


def test_cancel_all_of_a_stranger_leaves_the_owners_orders(stranger, resting):
    response = stranger.post("cancelallorder", {"strategy": "s"})
    assert response.status_code == 200
    assert response.json()["canceled_orders"] == []
    assert SandboxOrder.objects.get(order_id=resting).status == OrderStatus.OPEN


def test_close_position_of_a_stranger_leaves_the_owners_positions(trader, stranger):
    trader.post("placeorder", order(quantity="3"))
    response = stranger.post("closeposition", {"strategy": "s"})
    assert response.status_code == 200
    assert response.json()["message"] == "No Open Positions Found"
    owner = trader.post("openposition", {"strategy": "s", "exchange": "NSE", "symbol": "SBIN", "product": "MIS"})
    assert owner.json()["quantity"] == 3
    theirs = stranger.post("openposition", {"strategy": "s", "exchange": "NSE", "symbol": "SBIN", "product": "MIS"})
    assert theirs.json()["quantity"] == 0


def test_the_owner_can_do_all_of_it(trader, resting):
    status = trader.post("orderstatus", {"strategy": "s", "orderid": resting})
    assert status.status_code == 200
    data = status.json()["data"]
    assert data["orderid"] == resting
    assert data["order_status"] == "open"
    assert data["price"] == 700.0
    assert data["quantity"] == 2
    modified = trader.post("modifyorder", order(orderid=resting, pricetype="LIMIT", price="710", quantity="4",
                                                disclosed_quantity="0", trigger_price="0"))
    assert modified.status_code == 200, modified.json()
    assert modified.json()["orderid"] == resting
    row = Order.objects.get(broker_order_id=resting)
    assert (row.price, row.quantity) == (710, 4)
    cancelled = trader.post("cancelorder", {"strategy": "s", "orderid": resting})
    assert cancelled.status_code == 200
    assert cancelled.json() == {"status": "success", "orderid": resting, "mode": "analyze"}
    assert Order.objects.get(broker_order_id=resting).status == OrderStatus.CANCELLED
    assert trader.post("cancelorder", {"strategy": "s", "orderid": resting}).status_code == 400  # already cancelled


def test_an_unknown_order_id_is_404(trader):
    assert trader.post("orderstatus", {"strategy": "s", "orderid": "nope"}).status_code == 404
    assert trader.post("cancelorder", {"strategy": "s", "orderid": "nope"}).status_code == 404
