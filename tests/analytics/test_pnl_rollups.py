"""Daily P&L rollups: closed days summed once, read back exactly as the books would give them."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from analytics.models import PnlRollup, PnlRollupDay
from analytics.services import pnl, pnl_rollup
from analytics.tasks import roll_pnl_days
from sandbox.models import FundsLedger
from tests.analytics import desk
from tests.analytics.conftest import ALL
from trading.models import PositionHistory

pytestmark = pytest.mark.django_db(databases=ALL)


@pytest.fixture
def seeded():
    return desk.seed()


def window(seeded) -> tuple[dt.date, dt.date]:
    today = pnl.today(seeded.now)
    return today - dt.timedelta(days=6), today


def test_rolled_days_read_back_as_the_books_give_them(seeded):
    since, until = window(seeded)
    before = pnl.realized_rows(since, until)
    for day in pnl_rollup.days_to_roll(seeded.now + dt.timedelta(hours=1)):
        pnl_rollup.roll_day(day)
    assert PnlRollupDay.objects.count() >= 2
    assert pnl.realized_rows(since, until) == before
    for kwargs in ({"user_id": seeded.bob.pk}, {"strategy": "meanrev"}, {"strategy": ""}, {"modes": ["live"]}):
        assert pnl.realized_rows(since, until, **kwargs) == [
            r for r in before if (kwargs.get("user_id") in (None, r.user_id))
            and (kwargs.get("strategy") in (None, r.strategy)) and r.mode in kwargs.get("modes", pnl.MODES)], kwargs


def test_a_rolled_day_no_longer_reads_the_books(seeded):
    yesterday = pnl.today(seeded.now) - dt.timedelta(days=1)
    pnl_rollup.roll_day(yesterday)
    FundsLedger.objects.filter(amount=Decimal("-250.50")).delete()  # gone from the books, kept in the rollup
    rows = pnl.realized_rows(yesterday, yesterday)
    assert [(r.username, r.strategy, r.realized) for r in rows] == [("alice", "meanrev", Decimal("-250.50"))]


def test_rolling_again_replaces_the_day(seeded):
    day = pnl.today(seeded.now) - dt.timedelta(days=2)
    assert pnl_rollup.roll_day(day) == 1
    PositionHistory.objects.filter(realized_pnl=Decimal("100.00")).update(realized_pnl=Decimal("90.00"))
    assert pnl_rollup.roll_day(day) == 1
    assert PnlRollup.objects.get(day=day).realized == Decimal("90.00")


def test_only_closed_days_are_rolled_and_once(seeded):
    now = seeded.now  # the task below reads the clock: the same trading day, a few seconds later
    days = pnl_rollup.days_to_roll(now)
    today = pnl.today(now)
    assert today not in days
    assert pnl.today(now + dt.timedelta(minutes=10)) not in pnl_rollup.days_to_roll(now + dt.timedelta(minutes=10))
    # the latest closed day first (for ROLL_DELAY after midnight, that is the day before yesterday)
    assert days[0] == pnl.today(now - pnl_rollup.ROLL_DELAY) - dt.timedelta(days=1)
    assert "rolled" in roll_pnl_days.apply(kwargs={"limit": 400}).get()
    assert pnl_rollup.days_to_roll(now) == []


def test_a_day_is_rolled_once_it_has_been_over_for_a_while(seeded):
    today = pnl.today(seeded.now)
    tomorrow_start = pnl.ist_day_bounds(today + dt.timedelta(days=1))[0]
    assert today not in pnl_rollup.days_to_roll(tomorrow_start + dt.timedelta(minutes=5))  # fills may still commit
    assert today in pnl_rollup.days_to_roll(tomorrow_start + pnl_rollup.ROLL_DELAY + dt.timedelta(minutes=1))


def test_nothing_to_roll_without_fills(db):
    assert pnl_rollup.days_to_roll() == []
