"""Operators see what they approve: symbol, side, quantity, price and strategy of each pending order."""
import re

import pytest
from django.urls import reverse

from accounts.models import OrderMode
from tests.accounts.conftest import sign_in
from tests.factories import StaffFactory, enrolled
from tests.trading.conftest import make_trader, order
from trading.models import PendingOrder

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    operator = StaffFactory()
    return sign_in(client, operator, enrolled(operator))


@pytest.fixture
def queued(market):
    semi = make_trader(mode=OrderMode.SEMI_AUTO)
    semi.post("placeorder", order(strategy="momentum", quantity="7", pricetype="LIMIT", price="801.50"))
    semi.post("placeorder", order(strategy="meanrev", action="SELL", quantity="75", symbol="NIFTY30DEC26FUT",
                                  exchange="NFO", product="NRML"))
    semi.post("basketorder", {"strategy": "basket",
                              "orders": [order(quantity="2"), order(quantity="3", action="SELL")]})
    return {p.payload.get("strategy"): p for p in PendingOrder.objects.all()}


def rows(page: str) -> list[str]:
    return re.findall(r"<tr[^>]*>(.*?)</tr>", page, re.S)


def test_the_list_shows_symbol_side_quantity_price_and_strategy(staff, queued):
    page = staff.get(reverse("admin:trading_pendingorder_changelist")).content.decode()
    limit = next(r for r in rows(page) if "momentum" in r)
    for text in ("SBIN", "BUY", ">7<", "LIMIT 801.50", "momentum"):
        assert text in limit, text
    future = next(r for r in rows(page) if "meanrev" in r)
    for text in ("NIFTY30DEC26FUT", "SELL", ">75<", "MARKET", "meanrev"):
        assert text in future, text
    basket = next(r for r in rows(page) if "Basket order" in r)
    assert "BUY, SELL" in basket
    assert "2 + 3" in basket


def test_operators_search_and_filter_by_what_is_asked(staff, queued):
    url = reverse("admin:trading_pendingorder_changelist")
    found = staff.get(url, {"q": "NIFTY30DEC26FUT"}).content.decode()
    assert "meanrev" in found
    assert "momentum" not in found
    assert "momentum" in staff.get(url, {"q": "momentum"}).content.decode()
    sells = staff.get(url, {"action": "SELL"}).content.decode()
    assert "meanrev" in sells
    assert "momentum" not in sells
    nfo = staff.get(url, {"exchange": "NFO"}).content.decode()
    assert "meanrev" in nfo
    assert "momentum" not in nfo


def test_the_detail_page_lists_every_leg(staff, queued):
    page = staff.get(reverse("admin:trading_pendingorder_change", args=[queued["basket"].pk])).content.decode()
    assert page.count("NSE:SBIN") == 2
    assert "<td>BUY</td>" in page
    assert "<td>SELL</td>" in page
