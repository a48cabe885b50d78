"""Market-data reads fall back to the user's next healthy account when the primary cannot answer, over
real loopback upstreams that the test stops (tests/brokers/loopback_upstream.py)."""
from __future__ import annotations

import pytest

from brokers.models import ConnectionStatus, TradingAccount

pytestmark = pytest.mark.django_db


QUOTE = {"exchange": "NSE", "symbol": "SBIN"}


def test_quotes_come_from_the_primary_while_it_answers(live, servers):
    response = live.post("quotes", QUOTE)
    assert response.status_code == 200, response.json()
    assert response.json()["data"]["ltp"] == 812.5
    assert servers["main"].count("quotes") == 1
    assert servers["backup"].count("quotes") == 0


def test_quotes_depth_and_history_fall_back_when_the_primary_is_down(live, servers):
    servers["main"].stop()
    assert live.post("quotes", QUOTE).status_code == 200
    assert live.post("depth", QUOTE).json()["data"]["bids"][0]["price"] == 812.45
    history = live.post("history", {**QUOTE, "interval": "5m", "start_date": "2026-12-01", "end_date": "2026-12-01"})
    assert history.status_code == 200, history.json()
    assert len(history.json()["data"]) == 1
    assert live.post("intervals", {}).json()["data"]["minutes"] == ["1m", "5m"]
    assert (servers["backup"].count("quotes"), servers["backup"].count("depth"),
            servers["backup"].count("history")) == (1, 1, 1)
    assert servers["spare"].count("quotes") == 0


def test_a_read_skips_accounts_that_need_a_login_and_falls_back_past_an_expired_session(live, servers):
    servers["main"].session_expired = True
    TradingAccount.objects.filter(pk=live.accounts["backup"].pk).update(
        connection_status=ConnectionStatus.NEEDS_LOGIN)
    response = live.post("quotes", QUOTE)
    assert response.status_code == 200
    assert servers["backup"].count("quotes") == 0
    assert servers["spare"].count("quotes") == 1


def test_a_primary_known_to_be_down_is_asked_last(live, servers):
    TradingAccount.objects.filter(pk=live.accounts["main"].pk).update(connection_status=ConnectionStatus.FAILED)
    assert live.post("quotes", QUOTE).status_code == 200
    assert servers["main"].count("quotes") == 0
    assert servers["backup"].count("quotes") == 1


def test_a_multiquote_pays_the_failing_primary_once(live, servers, market):
    servers["main"].stop()
    body = {"symbols": [QUOTE] * 5}
    response = live.post("multiquotes", body)
    assert response.status_code == 200
    assert all("data" in row for row in response.json()["results"])
    assert servers["backup"].count("quotes") == 5


def test_a_permanent_answer_is_not_retried_elsewhere(live, servers):
    servers["main"].refuse_quotes = True
    response = live.post("quotes", QUOTE)
    assert response.status_code == 400
    assert "Symbol not found at the broker" in response.json()["message"]
    assert servers["backup"].count("quotes") == 0


def test_a_read_naming_its_account_stays_with_it(live, servers):
    servers["main"].stop()
    response = live.post("quotes", {**QUOTE, "account": "main"})
    assert response.status_code == 500
    assert servers["backup"].count("quotes") == 0


def test_when_every_account_is_down_the_primarys_fault_is_answered(live, servers):
    for server in servers.values():
        server.stop()
    response = live.post("quotes", QUOTE)
    assert response.status_code == 500
    assert "unreachable" in response.json()["message"]


def test_a_read_that_meets_an_expired_session_marks_the_account(live, servers):
    servers["main"].session_expired = True
    assert live.post("quotes", QUOTE).status_code == 200
    main = TradingAccount.objects.get(pk=live.accounts["main"].pk)
    assert main.connection_status == ConnectionStatus.NEEDS_LOGIN
    assert live.post("quotes", QUOTE).status_code == 200
    assert servers["main"].count("quotes") == 1  # known to need a login: asked last from now on
    assert servers["backup"].count("quotes") == 2


def test_while_the_primary_answers_the_other_accounts_are_never_read(live, servers):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    live.post("quotes", QUOTE)  # warms the key and instrument caches
    with CaptureQueriesContext(connection) as queries:
        assert live.post("quotes", QUOTE).status_code == 200
    reads = [q["sql"] for q in queries if "brokers_tradingaccount" in q["sql"]]
    assert len(reads) == 1  # the primary's look-up, as before fallback existed
    servers["main"].stop()
    with CaptureQueriesContext(connection) as queries:
        assert live.post("quotes", QUOTE).status_code == 200
    assert len([q for q in queries if "brokers_tradingaccount" in q["sql"]]) == 2  # + the others, once
