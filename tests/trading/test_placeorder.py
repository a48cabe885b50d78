import re
from decimal import Decimal

import pytest

from tests.trading.conftest import order
from trading.models import Order, OrderEvent, OrderSource, OrderStatus

pytestmark = pytest.mark.django_db


def test_it_places_a_market_order_in_the_sandbox(trader):
    response = trader.post("placeorder", order())
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "success"
    assert body["mode"] == "analyze"
    row = Order.objects.get(user=trader.user)
    assert row.broker_order_id == body["orderid"]
    assert row.is_analyze
    assert row.account is None
    assert row.status == OrderStatus.COMPLETE
    assert row.filled_quantity == Decimal("10")
    assert row.average_price == Decimal("800.05")  # a market buy pays the ask
    assert row.source == OrderSource.API
    assert row.strategy == "test"
    assert row.validation_ms >= 0
    assert row.broker_ms > 0
    assert row.overhead_ms > 0
    assert OrderEvent.objects.filter(order=row).exists()


def test_it_accepts_numbers_as_strings_and_lower_case_words(trader):
    response = trader.post("placeorder", order(quantity="5", action="sell", pricetype="limit", price="812.50",
                                               product="mis", exchange="nse", symbol="sbin"))
    assert response.status_code == 200, response.json()
    row = Order.objects.get(user=trader.user)
    assert (row.action, row.price_type, row.price, row.quantity, row.symbol) == (
        "SELL", "LIMIT", Decimal("812.5"), Decimal("5"), "SBIN")
    assert row.status == OrderStatus.OPEN  # a sell limit above the bid rests


def test_a_repeated_client_order_id_returns_the_first_order_and_places_nothing(trader):
    first = trader.post("placeorder", order(client_order_id="abc-1"))
    again = trader.post("placeorder", order(client_order_id="abc-1", quantity="99"))
    assert first.status_code == again.status_code == 200
    assert again.json()["orderid"] == first.json()["orderid"]
    assert Order.objects.filter(user=trader.user).count() == 1
    from sandbox.models import SandboxOrder

    assert SandboxOrder.objects.filter(user_id=trader.user.pk).count() == 1


def test_client_order_ids_are_per_user(trader, stranger):
    assert trader.post("placeorder", order(client_order_id="same")).status_code == 200
    assert stranger.post("placeorder", order(client_order_id="same")).status_code == 200
    assert Order.objects.filter(client_order_id="same").count() == 2


def test_a_broker_rejection_is_recorded_and_answered_400(trader):
    # 10 lakh shares at 800 need 80 crore of margin (MIS 5x: 16 crore) against the sandbox's 1 crore.
    from accounts.services.risk import update_risk_settings

    update_risk_settings(trader.user, max_order_value=Decimal("0"))
    response = trader.post("placeorder", order(quantity="1000000"))
    assert response.status_code == 400
    assert response.json()["status"] == "error"
    row = Order.objects.get(user=trader.user)
    assert row.status == OrderStatus.REJECTED
    assert row.rejection_reason.startswith("Rejected by the broker")


def test_it_answers_400_without_a_trading_account_outside_analyze_mode(trader_factory):
    live = trader_factory(analyze=False)
    response = live.post("placeorder", order())
    assert response.status_code == 400
    assert "trading account" in response.json()["message"]


def test_a_bad_key_is_403(trader):
    response = trader.client.post("/api/v1/placeorder", {"apikey": "nope.nope", **order()}, format="json")
    assert response.status_code == 403
    assert response.json() == {"status": "error", "message": "Invalid openalgo apikey"}


def test_the_query_count_of_a_sandbox_placeorder_is_pinned(trader, django_assert_max_num_queries):
    trader.post("placeorder", order())  # warms the key, instrument, analyze-mode and sandbox caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert trader.post("placeorder", order()).status_code == 200
    ours = [q["sql"] for q in ctx.captured_queries if _table(q["sql"]).startswith(("trading_", "accounts_"))]
    print(f"\n{len(ctx.captured_queries)} queries in all, {len(ours)} of the platform's own:")
    print("\n".join(q["sql"][:160] for q in ctx.captured_queries))
    # Ours: the user's risk lock (which reads the limits), the open-order count, INSERT order, INSERT
    # event (on PostgreSQL the order and its event are one statement). The user (with the key), today's
    # counter and analyze mode come from the cache.
    one_statement = connection.vendor == "postgresql"
    assert len(ours) <= (3 if one_statement else 4)
    # The whole request, the sandbox's own writes included: the sandbox broker runs inside the order's one
    # transaction (its BEGIN/COMMIT is a savepoint and its release inside the test's transaction, and
    # Django does not log BEGIN/COMMIT as queries).
    # On PostgreSQL: the risk lock, the count, the sandbox's two locks and its one write, the order with
    # its event.
    statements = [q for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) <= (6 if one_statement else 11)
    with django_assert_max_num_queries(13):  # the same, the one savepoint and its release included
        assert trader.post("placeorder", order()).status_code == 200


def test_a_sandbox_order_is_one_transaction(trader):
    """Order row, event and the sandbox's fill commit together: one savepoint inside the test's
    transaction stands for the one BEGIN/COMMIT of production."""
    trader.post("placeorder", order())
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert trader.post("placeorder", order()).status_code == 200
    savepoints = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("SAVEPOINT")]
    assert len(savepoints) == 1, savepoints


def _table(sql: str) -> str:
    """The table a statement reads or writes first (its FROM, INTO or UPDATE target)."""
    match = re.search(r'(?:FROM|INTO|UPDATE)\s+"(\w+)"', sql)
    return match.group(1) if match else ""


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_repeats_of_a_client_order_id_place_one_order(market):
    import threading

    from django.db import connection

    from tests.trading.conftest import make_trader

    trader = make_trader()
    answers = []

    def send() -> None:
        try:
            answers.append(trader.post("placeorder", order(client_order_id="race")).json())
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {a["status"] for a in answers} == {"success"}
    assert len({a["orderid"] for a in answers}) == 1
    assert Order.objects.filter(user=trader.user).count() == 1
    # The repeats' sandbox fills rolled back with their failed INSERT: one fill, funds reconciled.
    from sandbox.models import SandboxTrade
    from sandbox.services.funds import check_invariant

    assert SandboxTrade.objects.filter(user_id=trader.user.pk).count() == 1
    check_invariant(trader.user.pk)


def test_an_order_answer_says_what_the_broker_and_the_platform_cost(trader):
    response = trader.post("placeorder", order())
    assert response.status_code == 200
    parts = dict(item.strip().split(";dur=") for item in response["Server-Timing"].split(","))
    broker, platform, total = (float(parts[name]) for name in ("broker", "platform", "total"))
    assert broker > 0  # the sandbox's fill
    assert platform > 0
    assert abs(total - broker - platform) < 0.01
    row = Order.objects.get(user=trader.user)
    assert float(row.broker_ms) == pytest.approx(broker, abs=0.002)
    # The stored overhead stops before the order's own write; the header's platform time does not.
    assert float(row.overhead_ms) <= platform


def test_a_warm_placeorder_costs_five_cache_round_trips(trader, monkeypatch):
    """The IP-ban list (analytics, before any other work); the key (with its user); the limits, today's
    counter, analyze mode and the instrument; the sandbox's configuration, spec and quote (shared with the
    risk check's valuation); today's counter again (+1)."""
    from django.core.cache import caches

    trader.post("placeorder", order())  # warms every entry
    cache = caches["default"]  # the backend itself (the module-level proxy forwards to it)
    calls, depth = [], [0]

    def counted(name, real):
        def call(*args, **kwargs):
            if not depth[0]:  # the file cache's get_many is a get per key: count the outer call only
                calls.append(name)
            depth[0] += 1
            try:
                return real(*args, **kwargs)
            finally:
                depth[0] -= 1
        return call

    for name in ("get", "get_many", "set", "set_many", "add", "incr", "delete", "delete_many"):
        monkeypatch.setattr(cache, name, counted(name, getattr(cache, name)))
    assert trader.post("placeorder", order()).status_code == 200
    assert calls == ["get_many", "get_many", "get_many", "get_many", "incr"], calls


def test_a_sandbox_failure_that_is_not_a_repeat_is_recorded_rejected_and_leaves_no_fill(trader, monkeypatch):
    from django.db import IntegrityError

    from sandbox.models import SandboxTrade
    from sandbox.services import orders as sandbox_orders

    real = sandbox_orders.place_order

    def collides(*args, **kwargs):
        real(*args, **kwargs)  # the fill is written, then the database refuses something
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr(sandbox_orders, "place_order", collides)
    assert trader.post("placeorder", order()).status_code == 500
    row = Order.objects.get(user=trader.user)
    assert row.status == OrderStatus.REJECTED
    assert row.rejection_reason.startswith("Internal error")
    assert not SandboxTrade.objects.filter(user_id=trader.user.pk).exists()  # rolled back with the order
