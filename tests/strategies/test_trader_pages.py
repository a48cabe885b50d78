"""The trader's strategies page: their strategies with the webhook URL and TradingView alert, deployments
with state and P&L, recent signals; the deployment buttons; nobody else's rows, through any of it."""
from __future__ import annotations

import pytest

from strategies.models import DeploymentStatus, Signal
from tests.api.conftest import session
from tests.factories import StaffFactory, UserFactory
from tests.strategies.desk import *  # noqa: F403
from tests.strategies.desk import deploy, long_position, make_strategy, price
from trading.models import Action, Order

pytestmark = pytest.mark.django_db


def test_the_page_shows_the_webhook_the_alert_the_pnl_and_the_signals(owner):
    s = make_strategy(owner.user, "Nifty breakout", trading_mode="BOTH")
    d = deploy(s)
    long_position(d, 10)  # 10 at 800.05
    price("810")  # +99.50
    Signal.objects.create(strategy=s, status="refused", reason="Outside the entry window (09:15-15:00).")
    page = session(owner.user).get("/strategies/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f"http://testserver/strategy/webhook/{s.webhook_id}" in html
    assert "&quot;position_size&quot;: &quot;{{strategy.position_size}}&quot;" in html
    assert "₹99.50" in html
    assert "Outside the entry window (09:15-15:00)." in html
    assert 'href="/strategies/"' in html  # in the navigation


def test_the_dashboard_links_to_it(owner):
    assert 'href="/strategies/"' in session(owner.user).get("/accounts/").content.decode()


def test_another_user_sees_nothing_of_it_and_cannot_press_its_buttons(owner, other):
    s = make_strategy(owner.user, "Secret sauce")
    d = deploy(s)
    long_position(d, 3)
    Signal.objects.create(strategy=s, status="accepted", reason="owner-only")
    browser = session(other.user)
    html = browser.get("/strategies/").content.decode()
    assert "Secret sauce" not in html
    assert str(s.webhook_id) not in html
    assert "owner-only" not in html
    for action in ("pause", "stop", "start", "square-off"):
        assert browser.post(f"/strategies/deployments/{d.pk}/{action}/").status_code == 404
    d.refresh_from_db()
    assert d.status == DeploymentStatus.ACTIVE
    assert not Order.objects.filter(deployment=d, action=Action.SELL).exists()


def test_the_owner_pauses_resumes_squares_off_and_stops(owner):
    d = deploy(make_strategy(owner.user))
    long_position(d, 4)
    browser = session(owner.user)
    assert browser.post(f"/strategies/deployments/{d.pk}/pause/").status_code == 302
    d.refresh_from_db()
    assert d.status == DeploymentStatus.PAUSED
    browser.post(f"/strategies/deployments/{d.pk}/start/")
    browser.post(f"/strategies/deployments/{d.pk}/square-off/")
    assert Order.objects.get(deployment=d, action=Action.SELL).quantity == 4
    response = browser.post(f"/strategies/deployments/{d.pk}/stop/", follow=True)
    assert "stopped: no further signal reaches it" in response.content.decode()
    again = browser.post(f"/strategies/deployments/{d.pk}/stop/", follow=True)
    assert "it cannot be stopped" in again.content.decode()
    assert browser.post(f"/strategies/deployments/{d.pk}/explode/").status_code == 404
    assert browser.get(f"/strategies/deployments/{d.pk}/pause/").status_code == 405


def test_a_subscriber_sees_their_subscription_and_no_other_subscriber(market):
    operator = StaffFactory()
    house = make_strategy(operator, "House momentum", is_house=True)
    first, second = UserFactory(username="first-sub"), UserFactory(username="second-sub")
    mine, theirs = deploy(house, user=first), deploy(house, user=second)
    html = session(first).get("/strategies/").content.decode()
    for shown in ("House momentum", "subscription", "Leave"):
        assert shown in html
    assert "second-sub" not in html
    assert str(house.webhook_id) not in html  # the webhook is the operator's
    browser = session(first)
    assert browser.post(f"/strategies/deployments/{theirs.pk}/pause/").status_code == 404
    browser.post(f"/strategies/deployments/{mine.pk}/stop/")
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.status, theirs.status) == (DeploymentStatus.STOPPED, DeploymentStatus.ACTIVE)
    operator_html = session(operator).get("/strategies/").content.decode()
    assert "first-sub" in operator_html
    assert "second-sub" in operator_html


def test_a_signed_out_visitor_is_sent_to_sign_in(client):
    response = client.get("/strategies/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_page_costs_the_same_for_many_deployments(owner, django_assert_max_num_queries):
    for n in range(8):
        d = deploy(make_strategy(owner.user, f"s{n}"))
        Signal.objects.create(strategy=d.strategy, status="accepted")
    browser = session(owner.user)
    browser.get("/strategies/")
    with django_assert_max_num_queries(14):
        assert browser.get("/strategies/").status_code == 200
