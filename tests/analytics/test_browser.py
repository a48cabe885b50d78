"""The dashboards in headless Chromium: the seeded figures are on the page, every chart's canvas was drawn by
Chart.js (served from our static files), and the console shows no error (a CSP violation is one)."""
from __future__ import annotations

import pytest
from django.urls import reverse

from tests.accounts.conftest import enroll, sign_in
from tests.analytics import desk
from tests.browser import open_browser, screenshot

pytestmark = [pytest.mark.django_db(transaction=True, databases="__all__"), pytest.mark.live, pytest.mark.browser]


def drawn_charts(page) -> dict[str, str]:
    page.wait_for_selector("canvas[data-drawn]")
    return page.eval_on_selector_all("canvas[data-chart]", "cs => Object.fromEntries(cs.map("
                                                           "c => [c.dataset.chart, c.dataset.drawn || '']))")


def test_the_operators_dashboard_in_a_browser(live_server, client):
    seeded = desk.seed()
    sign_in(client, seeded.operator, enroll(seeded.operator))
    with open_browser(live_server, client) as page:
        page.goto(live_server.url + reverse("admin:index"))
        assert page.inner_text("#tile-orders .figure") == "8"
        assert page.inner_text("#tile-filled .figure") == "4"
        assert page.inner_text("#tile-rejected .figure") == "3"
        assert page.inner_text("#tile-pnl .figure") == "₹1,820.25"
        assert "Market is closed" in page.inner_text("#panel-reasons")
        assert "203.0.113.7" in page.inner_text("#panel-bans")
        beat = page.locator(".tile.health", has_text="Celery beat")
        assert "stale" in beat.inner_text()
        assert "bad" in beat.get_attribute("class")
        assert "alive" in page.locator(".tile.health", has_text="Celery worker").inner_text()
        charts = drawn_charts(page)
        assert charts == {"chart-pnl-user": "2", "chart-pnl-strategy": "3", "chart-latency": "4",
                          "chart-traffic": "3"}
        # A drawn canvas has coloured pixels (Chart.js painted it, not just sized it).
        assert page.eval_on_selector('canvas[data-chart="chart-pnl-user"]',
                                     "c => c.toDataURL().length") > 5000
        assert not page.is_visible("#plumbing .app-axes")  # collapsed
        screenshot(page, "admin-dashboard")
        assert page.console_errors == []


def test_a_traders_pages_in_a_browser(live_server, client):
    seeded = desk.seed()
    sign_in(client, seeded.alice, enroll(seeded.alice))
    with open_browser(live_server, client) as page:
        page.goto(live_server.url + reverse("accounts:dashboard"))
        assert page.inner_text("#my-orders") == "4"
        assert page.inner_text("#my-pnl") == "₹1,500.00"
        screenshot(page, "trader-dashboard")
        page.click("#your-trading >> text=orders")
        assert page.locator("#orders tbody tr").count() == 6
        page.select_option("#id_status", "REJECTED")
        page.click("form.filters button")
        assert page.locator("#orders tbody tr").count() == 1
        assert "Daily loss limit reached" in page.inner_text("#orders")
        screenshot(page, "trader-orders")
        page.goto(live_server.url + reverse("desk:positions"))
        assert "NSE:SBIN" in page.inner_text("#positions")
        screenshot(page, "trader-positions")
        page.goto(live_server.url + reverse("desk:funds"))
        assert page.inner_text("#funds-available") == "₹9,93,124.50"
        screenshot(page, "trader-funds")
        page.goto(live_server.url + reverse("desk:pnl") + "?days=7")
        assert page.inner_text("#pnl-total") == "₹1,249.50"
        assert drawn_charts(page) == {"chart-pnl": "2"}  # momentum and meanrev
        screenshot(page, "trader-pnl")
        page.goto(live_server.url + reverse("desk:latency") + "?days=7")
        assert drawn_charts(page) == {"chart-latency": "4"}
        assert "sandbox" in page.inner_text("#latency")
        screenshot(page, "trader-latency")
        assert page.console_errors == []


def test_a_live_traders_books_in_a_browser(live_server, client):
    seeded = desk.seed()
    sign_in(client, seeded.bob, enroll(seeded.bob))
    with open_browser(live_server, client) as page:
        page.goto(live_server.url + reverse("desk:trades"))  # bob trades live: no ?mode= needed
        assert "14,500.00" in page.inner_text("#trades")
        screenshot(page, "trader-trades-live")
        page.goto(live_server.url + reverse("desk:positions"))
        assert "NSE:INFY" in page.inner_text("#positions")
        page.goto(live_server.url + reverse("desk:holdings"))
        assert "442.00" in page.inner_text("#holdings")
        assert "3.16" in page.inner_text("#holdings")  # P&L % of 14,000 invested
        screenshot(page, "trader-holdings-live")
        page.goto(live_server.url + reverse("desk:funds"))
        assert "bob-live" in page.inner_text("#funds-error")  # the broker is not reachable from the tests
        screenshot(page, "trader-funds-live")
        assert page.console_errors == []
