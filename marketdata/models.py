"""OHLCV bars. Only two intervals are stored: 1-minute bars (built from ticks or imported) and daily
bars (imported); every other interval is aggregated from them on read (marketdata.services.history)."""
from __future__ import annotations

from django.db import models

_price = {"max_digits": 16, "decimal_places": 4}

__all__ = ["Bar", "StoredInterval"]


class StoredInterval(models.TextChoices):
    MINUTE = "1m", "1m"
    DAY = "D", "D (day)"


class Bar(models.Model):
    """One OHLCV bar of one instrument.

    `timestamp` is the bar's start as an aware instant: the minute for a 1-minute bar, the session
    day's midnight in the exchange's time zone for a daily bar. Volume is what traded in the bar
    (not the day's running total); `oi` is the open interest at the bar's close (0 for equities).
    """

    symbol = models.CharField(max_length=64)
    exchange = models.CharField(max_length=16)
    interval = models.CharField(max_length=4, choices=StoredInterval.choices, default=StoredInterval.MINUTE)
    timestamp = models.DateTimeField()
    open = models.DecimalField(**_price)
    high = models.DecimalField(**_price)
    low = models.DecimalField(**_price)
    close = models.DecimalField(**_price)
    volume = models.PositiveBigIntegerField(default=0)
    oi = models.PositiveBigIntegerField("open interest", default=0)

    class Meta:
        ordering = ["symbol", "exchange", "interval", "timestamp"]
        constraints = [
            # Its index, in this column order, is also the one that serves every read: "one symbol,
            # one exchange, one interval, a time range" is an equality on the first three columns
            # and a range on the fourth. The tick upsert names these columns as its conflict target.
            models.UniqueConstraint(fields=["symbol", "exchange", "interval", "timestamp"],
                                    name="marketdata_bar_unique"),
            models.CheckConstraint(condition=models.Q(low__lte=models.F("high")), name="marketdata_bar_low_le_high"),
        ]
        indexes = [
            # The admin's newest-first list across instruments, and retention's age cut-off.
            models.Index(fields=["timestamp"], name="marketdata_bar_timestamp"),
        ]

    def __str__(self) -> str:
        return f"{self.exchange}:{self.symbol} {self.interval} {self.timestamp:%Y-%m-%d %H:%M}"
