"""Operators' limits are ceilings: a trader may only tighten them, and sees what the operator allows."""
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from accounts.models import LIMITS, RiskSettings
from accounts.services import risk
from tests.accounts.conftest import sign_in
from tests.factories import enrolled

pytestmark = pytest.mark.django_db

# What the operator allows (the defaults), and for each limit one value looser and one stricter.
LOOSER = {"max_order_value": ["1000000.01", "0"], "max_position_value": ["9000000", "0"],
          "daily_loss_limit": ["100000.50", "0"], "max_open_orders": ["51", "0"],
          "max_orders_per_day": ["1001", "0"]}
CURRENT = {"max_order_value": "1000000.00", "max_position_value": "5000000.00", "daily_loss_limit": "100000.00",
           "max_open_orders": "50", "max_orders_per_day": "1000", "trading_enabled": "on"}


@pytest.fixture
def owner(client, trader):
    return sign_in(client, trader, enrolled(trader))


def row(user) -> RiskSettings:
    return RiskSettings.objects.get(user=user)


@pytest.mark.parametrize("name", list(LOOSER))
def test_a_trader_cannot_loosen_a_limit_on_their_page(owner, trader, name):
    for value in LOOSER[name]:
        response = owner.post(reverse("accounts:risk"), {**CURRENT, name: value})
        assert response.status_code == 400, (name, value)
        assert "Your operator allows at most" in response.context["form"].errors[name][0]
    assert str(getattr(row(trader), name)) == CURRENT[name]


def test_a_trader_cannot_turn_on_what_the_operator_turned_off(owner, trader):
    risk.update_risk_settings(trader, trading_enabled=False)  # the operator's kill switch
    owner.post(reverse("accounts:risk"), {**CURRENT, "trading_enabled": "on", "allow_after_market_orders": "on"})
    assert row(trader).trading_enabled is False
    assert row(trader).allow_after_market_orders is False
    with pytest.raises(ValidationError) as refused:
        risk.tighten_risk_settings(trader, trading_enabled=True, allow_after_market_orders=True)
    assert set(refused.value.message_dict) == {"trading_enabled", "allow_after_market_orders"}


def test_a_trader_tightens_every_limit(owner, trader):
    stricter = {"max_order_value": "2000.00", "max_position_value": "3000.00", "daily_loss_limit": "500.00",
                "max_open_orders": "2", "max_orders_per_day": "3"}  # kill switch off: not ticked
    assert owner.post(reverse("accounts:risk"), stricter).status_code == 302
    mine = row(trader)
    assert {name: str(getattr(mine, name)) for name in stricter} == stricter
    assert mine.trading_enabled is False
    assert mine.operator_max_order_value == Decimal("1000000.00")  # the operator's stays
    assert mine.operator_trading_enabled is True
    # ...and what the order pipeline reads is the stricter value.
    cached = risk.cached_risk_settings(trader.pk)
    assert (cached.max_order_value, cached.max_open_orders, cached.trading_enabled) == (Decimal("2000.00"), 2, False)


def test_the_page_shows_what_the_operator_allows(owner, trader):
    risk.update_risk_settings(trader, max_order_value=Decimal("25000"), max_open_orders=0)
    page = owner.get(reverse("accounts:risk")).content.decode()
    assert "Your operator allows at most ₹25,000.00; you may set less." in page
    assert "Your operator sets no limit" in page  # open orders
    assert "Your operator allows it." in page  # the kill switch
    assert "Off: your operator has not allowed it." in page  # after-market orders


def test_an_operator_lowering_a_limit_takes_the_traders_down_and_raising_it_keeps_their_choice(trader):
    risk.tighten_risk_settings(trader, max_order_value=Decimal("5000"))
    risk.update_risk_settings(trader, max_order_value=Decimal("3000"))
    assert row(trader).max_order_value == Decimal("3000")
    risk.update_risk_settings(trader, max_order_value=Decimal("9000"))  # they follow the operator again
    assert row(trader).max_order_value == Decimal("9000")
    risk.tighten_risk_settings(trader, max_order_value=Decimal("4000"))
    risk.update_risk_settings(trader, max_order_value=Decimal("20000"))  # their stricter choice stays
    assert row(trader).max_order_value == Decimal("4000")
    risk.update_risk_settings(trader, max_order_value=Decimal("0"))  # the operator lifts the limit
    assert row(trader).max_order_value == Decimal("4000")


@pytest.mark.parametrize("name", LIMITS)
def test_the_database_refuses_a_limit_above_the_operators(trader, name):
    loose = True if name in ("trading_enabled", "allow_after_market_orders") else 0
    ceiling = False if loose is True else 10
    RiskSettings.objects.filter(user=trader).update(**{f"operator_{name}": ceiling, name: ceiling})
    with pytest.raises(IntegrityError), transaction.atomic():
        RiskSettings.objects.filter(user=trader).update(**{name: loose})
