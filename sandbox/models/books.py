"""The sandbox's own books: orders, trades, positions, holdings and daily P&L snapshots."""
from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models

from brokers.models import Action, PriceType, Product  # the order vocabulary every broker speaks
from core import numbers

ZERO = Decimal("0")
_money = {"max_digits": 18, "decimal_places": 2}
_price = {"max_digits": 16, "decimal_places": 4}
_qty = {"max_digits": 18, "decimal_places": 4}  # whole numbers except on CRYPTO

__all__ = ["RESTING", "Action", "DailyPnL", "OrderStatus", "PriceType", "Product", "SandboxHolding",
           "SandboxOrder", "SandboxPosition", "SandboxTrade"]


class OrderStatus(models.TextChoices):
    # The same values as the trading app's order statuses, so results map one to one.
    OPEN = "OPEN", "Open"
    TRIGGER_PENDING = "TRIGGER_PENDING", "Trigger pending"
    COMPLETE = "COMPLETE", "Complete"
    CANCELLED = "CANCELLED", "Cancelled"
    REJECTED = "REJECTED", "Rejected"


RESTING = (OrderStatus.OPEN, OrderStatus.TRIGGER_PENDING)


class SandboxOrder(models.Model):
    """An order in a user's sandbox. `margin_blocked` is what this order still holds in used margin."""

    # The user leads sandbox_order_user; order_id is unique by a constraint, not unique=True, which on
    # PostgreSQL adds a second (LIKE) index that every order would write and no query uses.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sandbox_orders",
                             db_index=False)
    order_id = models.CharField(max_length=32)
    exchange = models.CharField(max_length=16)
    symbol = models.CharField(max_length=64)
    action = models.CharField(max_length=4, choices=Action.choices)
    quantity = models.DecimalField(**_qty)
    price_type = models.CharField(max_length=8, choices=PriceType.choices)
    product = models.CharField(max_length=4, choices=Product.choices)
    price = models.DecimalField(default=ZERO, **_price)
    trigger_price = models.DecimalField(default=ZERO, **_price)
    status = models.CharField(max_length=16, choices=OrderStatus.choices, default=OrderStatus.OPEN)
    filled_quantity = models.DecimalField(default=ZERO, **_qty)
    average_price = models.DecimalField(default=ZERO, **_price)
    margin_blocked = models.DecimalField(default=ZERO, **_money)
    rejection_reason = models.CharField(max_length=200, blank=True)
    strategy = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # No column: a join on (exchange, symbol) to the price store, so the matching sweep reads every
    # instrument's resting orders against its price in one query.
    last_price = models.ForeignObject("sandbox.LastPrice", on_delete=models.DO_NOTHING,
                                      from_fields=["exchange", "symbol"], to_fields=["exchange", "symbol"],
                                      related_name="+", null=True)

    class Meta:
        verbose_name = "sandbox order"
        ordering = ["-id"]
        indexes = [
            # Matching: the instruments with resting orders (status range, distinct exchange/symbol) and
            # one instrument's resting orders (two seeks). Not partial: SQLite cannot prove a partial
            # index's condition from a query's bound parameters, so it would scan the table instead.
            models.Index(fields=["status", "exchange", "symbol"], name="sandbox_order_matching"),
            # The order book of one user, newest first.
            models.Index(fields=["user", "-id"], name="sandbox_order_user"),
        ]
        constraints = [models.UniqueConstraint(fields=["order_id"], name="sandbox_order_unique_order_id")]

    def __str__(self) -> str:
        return f"{self.order_id} {self.action} {numbers.quantity(self.quantity)} {self.exchange}:{self.symbol}"

    @property
    def remaining(self) -> Decimal:
        return self.quantity - self.filled_quantity

    @property
    def sign(self) -> int:
        return 1 if self.action == Action.BUY else -1


class SandboxTrade(models.Model):
    """One fill of a sandbox order."""

    # As for orders: the user leads sandbox_trade_user, trade_id is unique by a constraint (no LIKE index).
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sandbox_trades",
                             db_index=False)
    trade_id = models.CharField(max_length=32)
    order = models.ForeignKey(SandboxOrder, on_delete=models.CASCADE, related_name="trades")
    exchange = models.CharField(max_length=16)
    symbol = models.CharField(max_length=64)
    action = models.CharField(max_length=4, choices=Action.choices)
    product = models.CharField(max_length=4, choices=Product.choices)
    quantity = models.DecimalField(**_qty)
    price = models.DecimalField(**_price)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "sandbox trade"
        ordering = ["-id"]
        indexes = [models.Index(fields=["user", "-id"], name="sandbox_trade_user")]  # the trade book
        constraints = [models.UniqueConstraint(fields=["trade_id"], name="sandbox_trade_unique_trade_id")]

    def __str__(self) -> str:
        return (f"{self.trade_id} {self.action} {numbers.quantity(self.quantity)} {self.exchange}:{self.symbol}"
                f" @ {numbers.price(self.price)}")

    @property
    def value(self) -> Decimal:
        return self.quantity * self.price


class SandboxPosition(models.Model):
    """A user's net position in one instrument and product (positive long, negative short).

    The average price is kept to 12 decimals so realized P&L is right to the paisa on any sequence;
    `margin_blocked` is the margin this position holds, released pro rata as it is reduced.
    """

    # The user leads sandbox_position_unique_instrument_product.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sandbox_positions",
                             db_index=False)
    exchange = models.CharField(max_length=16)
    symbol = models.CharField(max_length=64)
    product = models.CharField(max_length=4, choices=Product.choices)
    quantity = models.DecimalField(default=ZERO, **_qty)
    average_price = models.DecimalField(max_digits=28, decimal_places=12, default=ZERO)
    realized_pnl = models.DecimalField("realized P&L", default=ZERO, **_money)
    margin_blocked = models.DecimalField(default=ZERO, **_money)
    last_fill_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "sandbox position"
        ordering = ["user", "exchange", "symbol", "product"]
        constraints = [
            models.UniqueConstraint(fields=["user", "exchange", "symbol", "product"],
                                    name="sandbox_position_unique_instrument_product"),
        ]
        indexes = [
            # Square-off: open positions of one product on a group of exchanges.
            models.Index(fields=["product", "exchange"], name="sandbox_position_open",
                         condition=~models.Q(quantity=0)),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.product} {self.exchange}:{self.symbol} {numbers.quantity(self.quantity)}"


class SandboxHolding(models.Model):
    """Delivery (CNC) shares settled into the user's demat at T+1. `margin_blocked` is their cost."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sandbox_holdings")
    exchange = models.CharField(max_length=16)
    symbol = models.CharField(max_length=64)
    quantity = models.DecimalField(default=ZERO, **_qty)
    average_price = models.DecimalField(max_digits=28, decimal_places=12, default=ZERO)
    margin_blocked = models.DecimalField(default=ZERO, **_money)
    settled_on = models.DateField(help_text="The last settlement that added to this holding.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "sandbox holding"
        ordering = ["user", "exchange", "symbol"]
        constraints = [
            models.UniqueConstraint(fields=["user", "exchange", "symbol"], name="sandbox_holding_unique_instrument"),
            models.CheckConstraint(condition=models.Q(quantity__gte=0), name="sandbox_holding_quantity_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.exchange}:{self.symbol} {numbers.quantity(self.quantity)}"


class DailyPnL(models.Model):
    """End-of-day snapshot of a user's sandbox: the day's realized P&L, open P&L and funds."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sandbox_daily_pnl")
    date = models.DateField()
    realized_pnl = models.DecimalField("realized P&L (day)", **_money)
    unrealized_pnl = models.DecimalField("unrealized P&L", **_money)
    total_pnl = models.DecimalField("total P&L (day)", **_money)
    available = models.DecimalField(**_money)
    used_margin = models.DecimalField(**_money)
    portfolio_value = models.DecimalField(**_money, help_text="Available + used margin + unrealized P&L.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "sandbox daily P&L"
        verbose_name_plural = "sandbox daily P&L"
        ordering = ["-date", "user"]
        constraints = [models.UniqueConstraint(fields=["user", "date"], name="sandbox_dailypnl_unique_day")]

    def __str__(self) -> str:
        return f"{self.user} {self.date}: {numbers.money(self.total_pnl)}"
