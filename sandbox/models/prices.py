"""The price store's database side: the last quote of each instrument (the cache sits in front)."""
from __future__ import annotations

from decimal import Decimal

from django.db import models

from core import numbers

ZERO = Decimal("0")
_price = {"max_digits": 16, "decimal_places": 4, "default": ZERO}

__all__ = ['LastPrice', 'PriceSource']


class PriceSource(models.TextChoices):
    MANUAL = "manual", "manage.py prices set"
    REPLAY = "replay", "Replay of a file"
    SIMULATED = "simulated", "Random walk"
    LIVE = "live", "Linked live account"


class LastPrice(models.Model):
    """Last traded price, best bid/ask (with quantities when known) and the day's OHLC and volume."""

    exchange = models.CharField(max_length=16)
    symbol = models.CharField(max_length=64)
    ltp = models.DecimalField("LTP", max_digits=16, decimal_places=4)
    bid = models.DecimalField(**_price)
    ask = models.DecimalField(**_price)
    bid_qty = models.PositiveBigIntegerField(default=0)
    ask_qty = models.PositiveBigIntegerField(default=0)
    open = models.DecimalField(**_price)
    high = models.DecimalField(**_price)
    low = models.DecimalField(**_price)
    prev_close = models.DecimalField(**_price)
    volume = models.PositiveBigIntegerField(default=0)
    trading_day = models.DateField(help_text="The day (IST) the OHLC and volume belong to.")
    source = models.CharField(max_length=16, choices=PriceSource.choices, default=PriceSource.MANUAL)
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = "last price"
        ordering = ["exchange", "symbol"]
        constraints = [
            models.UniqueConstraint(fields=["exchange", "symbol"], name="sandbox_lastprice_unique_instrument"),
        ]

    def __str__(self) -> str:
        return f"{self.exchange}:{self.symbol} {numbers.price(self.ltp)}"
