"""Market data: OHLCV bars, built from the sandbox's price store or imported, served at any interval.

Where it sits (DESIGN.md's dependency direction, extended by one step):
``accounts -> brokers -> trading -> marketdata -> sandbox / strategies -> analytics``.

The issue places market data in ``analytics``, but the sandbox writes bars on every price and its
adapter answers ``/api/v1/history`` from them: the sandbox would have to import ``analytics``, which
nothing may. So the bar table and its queries live in this small app instead. It imports only
``brokers`` (the adapter's Candle, the instrument master) and ``trading``'s market calendar (each
exchange's time zone and session open, which place daily and intraday bars). ``sandbox`` and
``strategies`` may import it; ``trading`` never does: ``/api/v1/history`` reaches bars through the
sandbox adapter, exactly as it reaches a live broker's history through that broker's adapter.
``analytics`` reads the table for its dashboards, as it reads every other app's.
"""
