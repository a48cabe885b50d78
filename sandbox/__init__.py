"""The paper-trading broker: funds, its own books, fills, margin, square-off and settlement.

A broker like any other: `trading` reaches it only through sandbox.adapter.SandboxAdapter (registered
as "sandbox" in settings.BROKER_ADAPTERS); each user has a sandbox of their own.

    models/     config (one row), funds and the funds ledger, books (orders, trades, positions,
                holdings, daily P&L), the price store's table (LastPrice)
    services/   prices (the store: cache in front of LastPrice), feeds (set / replay / simulate),
                orders (place, modify, cancel), fills (fill rules, what a fill does), margin, funds
                (locks, ledger, check_invariant), matching (per price change and the sweep),
                squareoff, settlement (T+1), snapshots, reset, schedules (Celery beat rows)
    tasks.py    match_all, square_off, settle_cnc, daily_pnl_snapshot, weekly_reset
    management/ `prices set|replay|simulate`, `sandbox reset USERNAME`

Lock order everywhere: the user's funds row, then the order, then the position, then the holding.
"""
