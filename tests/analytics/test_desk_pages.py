"""A trader's own pages (/desk/): their rows in their mode and no one else's, filters, pages, checked figures,
and a fixed number of queries per page."""
from __future__ import annotations

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from analytics.pages import views
from tests.accounts.conftest import enroll, sign_in
from tests.analytics import desk
from tests.analytics.conftest import ALL

pytestmark = pytest.mark.django_db(databases=ALL)


@pytest.fixture
def seeded():
    return desk.seed()


@pytest.fixture
def alice(client, seeded):
    return sign_in(client, seeded.alice, enroll(seeded.alice))


def html(client, name: str, **params) -> str:
    page = client.get(reverse(f"desk:{name}"), params)
    assert page.status_code == 200, page.status_code
    return page.content.decode()


def test_orders_show_the_traders_own_in_their_mode(alice, seeded):
    page = html(alice, "orders")  # alice is in analyze mode: her sandbox orders
    assert page.count("momentum") == 3
    assert "meanrev" in page
    assert "Daily loss limit reached" in page
    assert "INFY" not in page
    assert "Market is closed" not in page
    live = html(alice, "orders", mode="live")
    assert "No orders" in live


def test_orders_filter_by_status_and_strategy(alice):
    rejected = html(alice, "orders", status="REJECTED")
    assert "Daily loss limit reached" in rejected
    assert "momentum" not in rejected
    assert html(alice, "orders", strategy="meanrev").count("<td>meanrev</td>") == 1
    bad = html(alice, "orders", since="not-a-date")
    assert "Enter a valid date" in bad
    assert "No orders" in bad


def test_orders_paginate(alice, seeded, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    first = html(alice, "orders")
    assert "page 1 of 3 (6 rows)" in first  # 5 today (the split parent is one) and 1 yesterday
    assert "page 3 of 3" in html(alice, "orders", page=3)


def test_positions_holdings_trades_and_funds_in_each_mode(client, seeded):
    bob = sign_in(client, seeded.bob, enroll(seeded.bob))
    positions = html(bob, "positions")  # bob trades live
    assert "NSE:INFY" in positions
    assert "420.25" in positions
    assert "50.00" in positions
    assert "NSE:INFY" in html(bob, "trades")
    assert "14,500.00" in html(bob, "trades")
    assert "SBIN" not in html(bob, "positions", mode="sandbox")
    funds = html(bob, "funds")
    assert "bob-live" in funds  # the live broker cannot be reached in tests: it says so
    assert 'id="funds-error"' in funds


def test_sandbox_funds_and_ledger(alice):
    funds = html(alice, "funds")
    assert "₹9,93,124.50" in funds
    assert "₹8,125.00" in funds
    assert "today ₹1,500.00" in funds
    assert funds.count("Realized P&amp;L") >= 1
    assert "-250.50" in funds


def test_pnl_page_sums_the_traders_days(alice):
    page = html(alice, "pnl", days=7)
    assert 'id="pnl-total" class="pos">₹1,249.50<' in page
    assert "momentum" in page
    assert "meanrev" in page
    assert "320.25" not in page
    assert 'data-chart="chart-pnl"' in page
    assert 'id="chart-pnl" type="application/json"' in page


def test_latency_page_shows_the_traders_percentiles(alice):
    page = html(alice, "latency", days=7)
    assert "<td>sandbox</td><td class=\"num\">4</td>" in page  # 40, 60, 80 today and 40 yesterday (+2 ms each)


def test_the_dashboard_links_the_pages_with_todays_figures(alice):
    page = html(alice, "orders")
    dashboard = alice.get(reverse("accounts:dashboard")).content.decode()
    assert 'id="my-orders">4<' in dashboard
    assert 'id="my-pnl">₹1,500.00<' in dashboard
    for name in ("orders", "trades", "positions", "holdings", "funds", "pnl", "latency"):
        assert reverse(f"desk:{name}") in dashboard
        assert reverse(f"desk:{name}") in page  # the pages' own navigation


def test_the_pages_need_a_signed_in_user(client, seeded):
    answer = client.get(reverse("desk:orders"))
    assert answer.status_code == 302
    assert "login" in answer["Location"]


# Session, user, device (3), then: orders count + page (2); trades and holdings: count (their page is empty);
# positions count + page; funds: the funds row, ledger count + page; P&L: rolled days, two books; latency: per
# day and per broker, each the rolled days (1) and the orders (1) when none is rolled.
@pytest.mark.parametrize(("name", "expected"), [("orders", 5), ("trades", 4), ("positions", 5), ("holdings", 4),
                                                ("funds", 6), ("pnl", 6), ("latency", 7)])
def test_each_page_costs_a_fixed_number_of_queries(alice, seeded, name, expected):
    alice.get(reverse(f"desk:{name}"))  # warm the ban list and the mode's cache
    with CaptureQueriesContext(connections["default"]) as queries:
        assert alice.get(reverse(f"desk:{name}")).status_code == 200
    assert len(queries) == expected, [q["sql"][:80] for q in queries]
    for _ in range(3):
        desk._order(seeded.alice, "COMPLETE", strategy="more", at=seeded.now)
    with CaptureQueriesContext(connections["default"]) as more:
        alice.get(reverse(f"desk:{name}"))
    assert len(more) == expected


def test_live_funds_come_from_the_primary_accounts_broker(client, seeded, monkeypatch):
    from decimal import Decimal

    from analytics.pages import books
    from brokers.adapters.base import Funds

    class Broker:
        def funds(self) -> Funds:
            return Funds(available_cash=Decimal("250000.50"), utilised_debits=Decimal("1200"),
                         m2m_realized=Decimal("420.25"), m2m_unrealized=Decimal("-35.10"))

    asked = []
    monkeypatch.setattr(books, "adapter_for", lambda account: asked.append(account.name) or Broker())
    page = html(sign_in(client, seeded.bob, enroll(seeded.bob)), "funds")
    assert asked == ["bob-live"]
    assert 'id="funds-available">₹2,50,000.50<' in page
    assert "₹1,200.00" in page
    assert "-35.10" in page


def test_the_traders_dashboard_costs_a_fixed_number_of_queries(alice, seeded):
    url = reverse("accounts:dashboard")
    alice.get(url)
    with CaptureQueriesContext(connections["default"]) as before:
        alice.get(url)
    for _ in range(3):
        desk._order(seeded.alice, "REJECTED", reason="again", at=seeded.now)
    with CaptureQueriesContext(connections["default"]) as after:
        page = alice.get(url).content.decode()
    assert 'id="my-orders">7<' in page
    assert len(after) == len(before) == 13, [q["sql"][:70] for q in after.captured_queries]
