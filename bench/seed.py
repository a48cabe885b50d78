"""Seeding for benchmarks: a throwaway PostgreSQL database beside DATABASE_URL's, and orders filled in SQL.

`seed_orders` writes a million orders in about a minute with one INSERT ... SELECT over generate_series
(no Python per row): `users` bench users with a live account each, orders spread evenly over `days`
days up to `until`; a quarter of them in analyze mode (no account: the sandbox), one in ten a risk
refusal (REJECTED, no broker time); broker times skewed (15 ms plus a cube of uniforms up to 400 ms).
"""
from __future__ import annotations

import datetime as dt
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

PREFIX = "bench-orders-"

FILL = """
INSERT INTO trading_order (
    user_id, account_id, api_key_id, pending_id, parent_id, strategy, client_order_id, broker_order_id,
    exchange, symbol, action, quantity, price, trigger_price, disclosed_quantity, price_type, product,
    status, filled_quantity, average_price, rejection_reason, source, kind, is_analyze, placed_at,
    updated_at, executed_at, validation_ms, broker_ms, overhead_ms)
SELECT u.id,
       CASE WHEN i %% 4 = 0 THEN NULL ELSE a.id END,
       NULL, NULL, NULL, 'bench', NULL, 'B' || i, 'NSE', 'SBIN', 'BUY', 1, 800, 0, 0, 'MARKET', 'MIS',
       CASE WHEN i %% 10 = 0 THEN 'REJECTED' ELSE 'COMPLETE' END, 1, 800, '', 'api', 'order', i %% 4 = 0,
       %(until)s - make_interval(secs => (i::float8 / %(orders)s::float8) * %(days)s * 86400),
       now(), NULL,
       round((0.2 + random() * 2)::numeric, 3),
       CASE WHEN i %% 10 = 0 THEN NULL ELSE round((15 + 400 * random() * random() * random())::numeric, 3) END,
       CASE WHEN i %% 10 = 0 THEN NULL ELSE round((0.5 + random() * 6)::numeric, 3) END
FROM generate_series(1, %(orders)s) AS i
JOIN bench_users u ON u.n = i %% %(users)s
JOIN brokers_tradingaccount a ON a.user_id = u.id
"""


def beside(url: str, suffix: str) -> tuple[str, str]:
    """The URL and name of the database `<name><suffix>` on DATABASE_URL's server."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/") + suffix
    return urlunsplit(parts._replace(path="/" + name)), name


@contextmanager
def throwaway_database(suffix: str, *, keep: bool) -> Iterator[str]:
    """Point DATABASE_URL at a database of its own beside the configured one (created if missing; with
    `keep`, reused and left in place, else made fresh and dropped at the end). Yields its URL."""
    import psycopg

    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        sys.exit("DATABASE_URL must name a PostgreSQL database (the bench creates one of its own beside it)")
    url, name = beside(base, suffix)
    server = urlunsplit(urlsplit(base)._replace(path="/postgres"))  # the maintenance database
    with psycopg.connect(server, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and not keep:
            admin.execute(f'DROP DATABASE "{name}"')
        if not exists or not keep:
            admin.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = url
    try:
        yield url
    finally:
        if not keep:
            from django.db import connections

            connections.close_all()
            with psycopg.connect(server, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def seed_orders(orders: int, *, users: int = 50, days: int = 30, until: dt.datetime | None = None) -> list[int]:
    """Fill trading_order with `orders` rows (see the module's docstring); returns the bench users' ids.
    Django must be set up on a PostgreSQL database."""
    from django.db import connection

    from accounts.models import User
    from brokers.models import TradingAccount

    User.objects.filter(username__startswith=PREFIX).delete()  # an interrupted fill's
    made = User.objects.bulk_create([User(username=f"{PREFIX}{n}", email=f"{PREFIX}{n}@example.com",
                                          role="trader") for n in range(users)])
    TradingAccount.objects.bulk_create([TradingAccount(user=u, name="live", broker="openalgo") for u in made])
    until = until or dt.datetime.now(dt.UTC)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bench_users AS SELECT id, row_number() OVER (ORDER BY id) - 1 AS n "
                       "FROM accounts_user WHERE username LIKE %s", [PREFIX + "%"])
        cursor.execute("SET statement_timeout = 0")  # a million rows take longer than DB_STATEMENT_TIMEOUT
        started = time.perf_counter()
        cursor.execute(FILL, {"orders": orders, "days": days, "users": users, "until": until})
        cursor.execute("DROP TABLE bench_users")
        print(f"seeded {orders:,} orders over {days} days in {time.perf_counter() - started:.1f} s")
        cursor.execute("VACUUM ANALYZE trading_order")
        cursor.execute("RESET statement_timeout")
    return [u.pk for u in made]
