"""Numbers as people read them (quantities normalized, money grouped the Indian way), operators shown as
operators, and the one-row sandbox configuration opened directly."""
from decimal import Decimal as D

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from accounts.models import Role, User
from core import numbers
from sandbox.models import SandboxConfig
from tests.accounts.conftest import enroll, sign_in
from tests.api.factories import OrderFactory, PositionFactory, TradeFactory
from tests.factories import StaffFactory, UserFactory


@pytest.mark.parametrize(("value", "shown"), [
    (D("3.000000"), "3"), (D("2.500000"), "2.5"), (D("150000.000000"), "1,50,000"), (D("0.000100"), "0.0001"),
    (D("0"), "0"), (None, ""),
])
def test_a_quantity_shows_only_the_decimals_it_has(value, shown):
    assert numbers.quantity(value) == shown


@pytest.mark.parametrize(("value", "shown"), [
    (D("100000"), "1,00,000.00"), (D("10000000.00"), "1,00,00,000.00"), (D("-1234567.5"), "-12,34,567.50"),
    (D("999.99"), "999.99"), (D("0"), "0.00"),
])
def test_money_has_two_decimals_and_indian_grouping(value, shown):
    assert numbers.money(value) == shown


@pytest.mark.parametrize(("value", "shown"), [
    (D("812.5000"), "812.50"), (D("1290"), "1,290.00"), (D("0.0525"), "0.0525"), (D("812.333333333333"), "812.3333"),
])
def test_a_price_shows_two_to_four_decimals(value, shown):
    assert numbers.price(value) == shown


@pytest.fixture
def staff(db):
    operator = StaffFactory()
    return sign_in(Client(), operator, enroll(operator))


@pytest.mark.django_db
def test_the_admin_shows_quantities_normalized_and_money_grouped(staff):
    order = OrderFactory(quantity=D("3"), filled_quantity=D("2.5"), average_price=D("1250.5"))
    TradeFactory(order=order, quantity=D("2.5"), price=D("1250.5"))
    PositionFactory(user=order.user, net_quantity=D("3"), realized_pnl=D("123456.7"))
    pages = [reverse("admin:trading_order_changelist"), reverse("admin:trading_order_change", args=[order.pk]),
             reverse("admin:trading_position_changelist"), reverse("admin:trading_trade_changelist")]
    html = "".join(staff.get(url).content.decode() for url in pages)
    assert "3.000000" not in html
    assert "2.500000" not in html
    assert ">2.5<" in html
    assert ">3<" in html
    assert "1,250.50" in html
    assert "1,23,456.70" in html
    assert "123456.70" not in html


@pytest.mark.django_db
def test_the_risk_limits_list_groups_money(staff):
    UserFactory()
    html = staff.get(reverse("admin:accounts_risksettings_changelist")).content.decode()
    assert "10,00,000.00" in html  # the default max order value, 1000000.00
    assert "1000000.00" not in html


@pytest.mark.django_db
def test_the_order_api_shows_quantities_normalized():
    order = OrderFactory(quantity=D("3"), filled_quantity=D("2.5"))
    client = Client()
    client.force_login(order.user)
    row = client.get("/api/orders/").json()["results"][0]
    assert row["quantity"] == "3"
    assert row["filled_quantity"] == "2.5"
    assert row["disclosed_quantity"] == "0"


@pytest.mark.django_db
def test_the_dashboard_groups_money():
    user = UserFactory()
    client = Client()
    client.force_login(user)
    assert "₹10,00,000.00" in client.get(reverse("accounts:dashboard")).content.decode()


@pytest.mark.django_db
def test_a_superuser_is_an_operator(staff):
    call_command("createsuperuser", username="root", email="root@example.com", interactive=False, verbosity=0)
    root = User.objects.get(username="root")
    assert root.role == Role.ADMIN
    html = staff.get(reverse("admin:accounts_user_changelist")).content.decode()
    row = html.split(">root<", 1)[1].split("</tr>", 1)[0]
    assert "Operator" in row
    assert "Trader" not in row


@pytest.mark.django_db
def test_the_sandbox_configuration_opens_its_one_row(staff):
    SandboxConfig.objects.all().delete()
    changelist = reverse("admin:sandbox_sandboxconfig_changelist")
    assert staff.get(changelist)["Location"] == reverse("admin:sandbox_sandboxconfig_add")
    config = SandboxConfig.objects.create()
    response = staff.get(changelist)
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:sandbox_sandboxconfig_change", args=[config.pk])
    assert staff.get(response["Location"]).status_code == 200
