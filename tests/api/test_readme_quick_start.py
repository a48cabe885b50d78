"""The README's client quick start, run as written against a live server, places its order at any hour:
here after the intraday (MIS) square-off, when an MIS order is refused."""
from __future__ import annotations

import contextlib
import datetime as dt
import io
import re
from pathlib import Path

import pytest

from brokers.adapters.openalgo import close_clients
from sandbox.models import SandboxConfig
from sandbox.services.config import forget_config

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]
README = Path(__file__).resolve().parents[2] / "README.md"


def quick_start() -> tuple[str, str]:
    section = README.read_text().split("## Client quick start", 1)[1].split("\n## ", 1)[0]
    return section, re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.fixture
def after_the_square_off(market):
    # Every hour is past a 00:00 cut-off: what 15:30 IST is with the default 15:15.
    SandboxConfig.objects.filter(pk=1).update(squareoff_nse=dt.time(0, 0))
    forget_config()
    yield
    close_clients()


def test_the_readmes_client_example_places_its_order_after_the_square_off(live_server, owner, after_the_square_off):
    text, code = quick_start()
    code = code.replace("<prefix>.<secret>", owner.key).replace("http://127.0.0.1:8000", live_server.url)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    placed, book = out.getvalue().splitlines()[:2]
    assert "'status': 'success'" in placed, placed
    assert "'order_status': 'complete'" in book, book
    mis = owner.v1("placeorder", {"strategy": "demo", "symbol": "SBIN", "exchange": "NSE", "action": "BUY",
                                  "quantity": "1", "pricetype": "MARKET", "product": "MIS"})
    assert mis.status_code == 400
    assert "square-off" in mis.json()["message"]
    assert "ENFORCE_MARKET_HOURS=false" in text  # how to try it outside exchange hours
    assert "15:15" in text  # and why MIS is refused late
