"""Bookkeeping after the answer: collected by the order views, run when the response is closed."""
from __future__ import annotations

import logging

from trading.services import deferred


def test_outside_a_view_work_runs_at_once():
    done = []
    deferred.later(done.append, 1)
    assert done == [1]


def test_collected_work_waits_for_run_all_and_a_failure_is_logged_not_raised(caplog):
    done = []

    def broken():
        raise RuntimeError("cache down")

    with deferred.collecting() as work:
        deferred.later(done.append, 1)
        deferred.later(broken)
        deferred.later(done.append, 2)
    assert done == []
    with caplog.at_level(logging.ERROR, logger="trading.services.deferred"):
        deferred.run_all(work)
    assert done == [1, 2]
    assert "Deferred order bookkeeping failed" in caplog.text
    assert work == []


def test_todays_counter_is_counted_once_the_answer_is_closed(trader):
    from tests.trading.conftest import order
    from trading.services.risk import orders_today

    for _ in range(3):
        assert trader.post("placeorder", order()).status_code == 200
    assert orders_today(trader.user.pk) == 3
