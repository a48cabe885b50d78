"""The books: orders, trades, positions and their history, holdings, order events, pending orders.

Orders of every route (live broker or the paper-trading sandbox) are recorded here with their
latency split. Trades, positions and holdings here are those of live trading accounts: the sandbox
is a broker and keeps its own books, which `trading` reads through the adapter interface.
"""
from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

# One list of exchange codes and one order vocabulary, owned by brokers (the adapter interface's values).
from brokers.models import Action, Exchange, PriceType, Product
from core import numbers

__all__ = [
    "OPEN_STATUSES",
    "Action",
    "EventLevel",
    "Holding",
    "Order",
    "OrderEvent",
    "OrderKind",
    "OrderSource",
    "OrderStatus",
    "PendingApiType",
    "PendingOrder",
    "PendingStatus",
    "Position",
    "PositionEvent",
    "PositionHistory",
    "PriceType",
    "Product",
    "Trade",
    "UserScopedQuerySet",
]

ZERO = Decimal("0")


def _money() -> models.DecimalField:
    return models.DecimalField(max_digits=16, decimal_places=2, default=ZERO)


def _price(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=14, decimal_places=4, default=ZERO, **kwargs)


def _qty(**kwargs) -> models.DecimalField:
    # Decimal, not integer: CRYPTO quantities are fractional; every other exchange uses whole numbers.
    return models.DecimalField(max_digits=18, decimal_places=6, default=ZERO, **kwargs)


class OrderStatus(models.TextChoices):
    PENDING = "PENDING", "Pending (not yet at the broker)"
    OPEN = "OPEN", "Open"
    TRIGGER_PENDING = "TRIGGER_PENDING", "Trigger pending"
    PARTIALLY_FILLED = "PARTIALLY_FILLED", "Partially filled"
    COMPLETE = "COMPLETE", "Complete"
    CANCELLED = "CANCELLED", "Cancelled"
    REJECTED = "REJECTED", "Rejected"
    # Sent, but the broker's answer was lost (a timeout after the request left): the order may or may
    # not exist at the broker. Not counted as open; trading.services.reconcile settles it against the
    # broker's order book (matched: the broker's id and state; not found in time: REJECTED).
    UNKNOWN = "UNKNOWN", "Awaiting confirmation"


#: Statuses of an order that may still fill or be cancelled (counted against max_open_orders). UNKNOWN is
#: not among them: such an order is either found at the broker (and takes its state) or rejected.
OPEN_STATUSES = (OrderStatus.PENDING, OrderStatus.OPEN, OrderStatus.TRIGGER_PENDING, OrderStatus.PARTIALLY_FILLED)


class UserScopedQuerySet(models.QuerySet):
    """Rows a client may reach are always filtered by their owner: one method, so no view forgets it."""

    def for_user(self, user) -> UserScopedQuerySet:
        return self.filter(user=user)


class OrderQuerySet(UserScopedQuerySet):
    def open(self) -> OrderQuerySet:
        return self.filter(status__in=OPEN_STATUSES)


class OrderSource(models.TextChoices):
    API = "api", "API"
    WEBHOOK = "webhook", "Webhook"
    ADMIN = "admin", "Admin"
    STRATEGY = "strategy", "Strategy"
    SYSTEM = "system", "System"


class OrderKind(models.TextChoices):
    ORDER = "order", "Order"
    SPLIT = "split", "Split (parent)"
    BASKET = "basket", "Basket (parent)"


class Order(models.Model):
    """One order as AlgoDesk sent it (or refused it), its broker id, state and latency split.

    `account` is null for orders routed to the sandbox (analyze mode), which is a broker of its own.
    A refused order (validation passed, risk refused) is kept as REJECTED with the reason: refusals
    are recorded, never dropped. Split and basket orders have a parent row and child rows.
    """

    # Every index is written on every order: user and account lead the composite indexes below, and
    # parent and pending are indexed only where set (most orders have neither).
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="orders",
                             db_index=False)
    account = models.ForeignKey("brokers.TradingAccount", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="orders", help_text="Empty for sandbox (analyze mode) orders.",
                                db_index=False)
    api_key = models.ForeignKey("accounts.ApiKey", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+", help_text="The key the order came with, if any.")
    pending = models.ForeignKey("trading.PendingOrder", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="orders", help_text="The action-center entry that released it.",
                                db_index=False)
    parent = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True, related_name="children",
                               help_text="The split or basket order this one is a leg of.", db_index=False)
    # RESTRICT, not PROTECT or SET_NULL: a deployment that placed orders cannot be deleted on its own (it is
    # stopped instead), so per-deployment positions and P&L stay readable; deleting its user, whose orders
    # go in the same cascade, still works (PROTECT would refuse even that).
    deployment = models.ForeignKey("strategies.Deployment", on_delete=models.RESTRICT, null=True, blank=True,
                                   related_name="orders", help_text="The strategy deployment that placed it.",
                                   db_index=False)
    strategy = models.CharField(max_length=100, blank=True, help_text="OpenAlgo's strategy tag.")
    # NULL, not "": the unique constraint must ignore orders sent without an idempotency key.
    client_order_id = models.CharField(max_length=64, null=True, blank=True,  # noqa: DJ001
                                       help_text="Caller's idempotency key: a repeat returns the first order.")
    broker_order_id = models.CharField(max_length=64, blank=True)
    exchange = models.CharField(max_length=16, choices=Exchange.choices)
    symbol = models.CharField(max_length=64)
    action = models.CharField(max_length=4, choices=Action.choices)
    quantity = _qty()
    price = _price()
    trigger_price = _price()
    disclosed_quantity = _qty()
    price_type = models.CharField(max_length=8, choices=PriceType.choices, default=PriceType.MARKET)
    product = models.CharField(max_length=8, choices=Product.choices, default=Product.MIS)
    status = models.CharField(max_length=16, choices=OrderStatus.choices, default=OrderStatus.PENDING)
    filled_quantity = _qty()
    average_price = _price()
    rejection_reason = models.TextField(blank=True)
    source = models.CharField(max_length=16, choices=OrderSource.choices, default=OrderSource.API)
    kind = models.CharField(max_length=8, choices=OrderKind.choices, default=OrderKind.ORDER,
                            help_text="A split or basket parent is a container for its legs, never sent to a broker.")
    is_analyze = models.BooleanField("sandbox", default=False, help_text="Routed to the paper-trading sandbox.")
    placed_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    executed_at = models.DateTimeField(null=True, blank=True)
    # Latency split in milliseconds: validation (auth, parse, checks), broker round trip, and the
    # platform's own overhead (everything but the broker). Analytics aggregates these.
    validation_ms = models.DecimalField(max_digits=10, decimal_places=3, null=True, blank=True)
    broker_ms = models.DecimalField(max_digits=10, decimal_places=3, null=True, blank=True)
    overhead_ms = models.DecimalField(max_digits=10, decimal_places=3, null=True, blank=True)

    objects = OrderQuerySet.as_manager()

    class Meta:
        ordering = ["-placed_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "client_order_id"], condition=Q(client_order_id__isnull=False),
                                    name="order_unique_client_order_id_per_user"),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="order_quantity_gte_0"),
            models.CheckConstraint(condition=Q(filled_quantity__gte=0), name="order_filled_quantity_gte_0"),
        ]
        indexes = [
            # max_open_orders: count a user's open orders on every order; a partial index keeps it
            # small (open orders are a tiny share of the table).
            models.Index(fields=["user"], name="order_open_by_user",
                         condition=Q(status__in=[s.value for s in OPEN_STATUSES])),
            # Order book, max_orders_per_day (orders since midnight), and the retention sweep.
            models.Index(fields=["user", "placed_at"], name="order_user_placed"),
            # orderstatus / cancelorder / modifyorder: the client names the broker's order id.
            models.Index(fields=["user", "broker_order_id"], name="order_user_broker_id"),
            # Latency reports (analytics.services.latency) over a range of placement times, all users'
            # orders: an index-only scan of the range instead of the whole table (bench/latency.py: an
            # operator's day out of 1,000,000 orders, 50-65 ms instead of 420-570 ms).
            models.Index(fields=["placed_at"], include=["broker_ms", "overhead_ms", "validation_ms", "account", "user"],
                         name="order_placed_latency"),
            # Status sync of a live account's open orders.
            models.Index(fields=["account", "status"], name="order_account_status"),
            # The reconcile's sweep of orders awaiting confirmation: only those rows (rare) are indexed.
            models.Index(fields=["account"], name="order_unknown_by_account", condition=Q(status="UNKNOWN")),
            # A split's legs, an action-center entry's order (and their deletes): only rows that have one.
            models.Index(fields=["parent"], name="order_parent", condition=Q(parent__isnull=False)),
            models.Index(fields=["pending"], name="order_pending", condition=Q(pending__isnull=False)),
            # A deployment's orders (its net positions and P&L): only strategy orders are indexed.
            models.Index(fields=["deployment", "placed_at"], name="order_deployment",
                         condition=Q(deployment__isnull=False)),
        ]

    def __str__(self) -> str:
        shown = numbers.quantity(self.quantity)
        return f"{self.action} {shown} {self.exchange}:{self.symbol} ({self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def value(self) -> Decimal:
        return self.quantity * self.price


class Trade(models.Model):
    """One fill of a live account's order (the sandbox keeps its own trade book)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="trades")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trades")
    account = models.ForeignKey("brokers.TradingAccount", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="trades")
    broker_trade_id = models.CharField(max_length=64, blank=True)
    exchange = models.CharField(max_length=16, choices=Exchange.choices)
    symbol = models.CharField(max_length=64)
    action = models.CharField(max_length=4, choices=Action.choices)
    product = models.CharField(max_length=8, choices=Product.choices)
    quantity = _qty()
    price = _price()
    traded_at = models.DateTimeField(default=timezone.now)

    objects = UserScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-traded_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="trade_quantity_gt_0")]
        indexes = [
            # Trade book of a user, newest first.
            models.Index(fields=["user", "traded_at"], name="trade_user_traded"),
        ]

    def __str__(self) -> str:
        shown = numbers.quantity(self.quantity)
        return f"{self.action} {shown} {self.exchange}:{self.symbol} @ {numbers.price(self.price)}"

    @property
    def value(self) -> Decimal:
        return self.quantity * self.price


class Position(models.Model):
    """The net position of a live account in one instrument and product, kept from its fills."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="positions")
    account = models.ForeignKey("brokers.TradingAccount", on_delete=models.CASCADE, null=True, blank=True,
                                related_name="positions")
    exchange = models.CharField(max_length=16, choices=Exchange.choices)
    symbol = models.CharField(max_length=64)
    product = models.CharField(max_length=8, choices=Product.choices)
    net_quantity = _qty()  # positive long, negative short; Decimal's sign, so no check constraint
    buy_quantity = _qty()
    sell_quantity = _qty()
    buy_value = _money()
    sell_value = _money()
    average_price = _price()
    ltp = _price()
    realized_pnl = _money()
    unrealized_pnl = _money()
    opened_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UserScopedQuerySet.as_manager()

    class Meta:
        ordering = ["user", "exchange", "symbol"]
        constraints = [
            # Two partial constraints rather than one: NULL accounts are never equal in SQL.
            models.UniqueConstraint(fields=["user", "account", "exchange", "symbol", "product"],
                                    condition=Q(account__isnull=False), name="position_unique_per_account"),
            models.UniqueConstraint(fields=["user", "exchange", "symbol", "product"],
                                    condition=Q(account__isnull=True), name="position_unique_without_account"),
        ]
        indexes = [
            # Daily loss limit: today's realized P&L of a user.
            models.Index(fields=["user", "updated_at"], name="position_user_updated"),
        ]

    def __str__(self) -> str:
        return f"{self.exchange}:{self.symbol} {self.product} {numbers.quantity(self.net_quantity)}"

    @property
    def pnl(self) -> Decimal:
        return self.realized_pnl + self.unrealized_pnl


class PositionEvent(models.TextChoices):
    OPEN = "OPEN", "Opened"
    INCREASE = "INCREASE", "Increased"
    DECREASE = "DECREASE", "Decreased"
    CLOSE = "CLOSE", "Closed"
    REVERSE = "REVERSE", "Reversed (long to short or back)"


class PositionHistory(models.Model):
    """One change of a position caused by a fill: what happened, at what price, and the P&L it realized."""

    position = models.ForeignKey(Position, on_delete=models.CASCADE, related_name="history")
    order = models.ForeignKey(Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    event = models.CharField(max_length=8, choices=PositionEvent.choices)
    quantity = _qty()  # signed change
    price = _price()
    net_quantity_after = _qty()
    average_price_after = _price()
    realized_pnl = _money()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "position history"
        indexes = [models.Index(fields=["position", "created_at"], name="poshistory_position_created"),
                   # Realized P&L by day over a range, all users (analytics' P&L charts, /api/analytics/pnl/).
                   models.Index(fields=["created_at"], name="poshistory_created")]

    def __str__(self) -> str:
        return f"{self.event} {numbers.quantity(self.quantity)} @ {numbers.price(self.price)}"


class Holding(models.Model):
    """A delivery holding of a live account, as last read from the broker."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="holdings")
    account = models.ForeignKey("brokers.TradingAccount", on_delete=models.CASCADE, null=True, blank=True,
                                related_name="holdings")
    exchange = models.CharField(max_length=16, choices=Exchange.choices)
    symbol = models.CharField(max_length=64)
    product = models.CharField(max_length=8, choices=Product.choices, default=Product.CNC)
    quantity = _qty()
    average_price = _price()
    ltp = _price()
    pnl = _money()
    updated_at = models.DateTimeField(auto_now=True)

    objects = UserScopedQuerySet.as_manager()

    class Meta:
        ordering = ["user", "exchange", "symbol"]
        constraints = [
            models.UniqueConstraint(fields=["user", "account", "exchange", "symbol"],
                                    condition=Q(account__isnull=False), name="holding_unique_per_account"),
            models.UniqueConstraint(fields=["user", "exchange", "symbol"],
                                    condition=Q(account__isnull=True), name="holding_unique_without_account"),
        ]

    def __str__(self) -> str:
        return f"{self.exchange}:{self.symbol} {numbers.quantity(self.quantity)}"

    @property
    def pnl_percent(self) -> Decimal:
        invested = self.average_price * self.quantity
        return (self.pnl / invested * 100).quantize(Decimal("0.01")) if invested else ZERO


class EventLevel(models.TextChoices):
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    ERROR = "error", "Error"


class OrderEvent(models.Model):
    """A step in an order's life: received, refused by risk, sent, broker answer, cancelled, ..."""

    # Indexed by orderevent_order_created (order first): no second index to write on every event.
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events", db_index=False)
    level = models.CharField(max_length=8, choices=EventLevel.choices, default=EventLevel.INFO)
    message = models.CharField(max_length=500)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["order", "created_at"], name="orderevent_order_created"),
            # Retention deletes events older than a year in batches, oldest first.
            models.Index(fields=["created_at"], name="orderevent_created"),
        ]

    def __str__(self) -> str:
        return f"{self.level}: {self.message}"


class PendingApiType(models.TextChoices):
    PLACE = "placeorder", "Place order"
    SMART = "placesmartorder", "Smart order"
    BASKET = "basketorder", "Basket order"
    SPLIT = "splitorder", "Split order"


class PendingStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


def _leg_note(api_type: str, order: dict) -> str:
    if api_type == PendingApiType.SMART and order.get("position_size") not in (None, ""):
        return f"to a position of {order['position_size']}"
    if api_type == PendingApiType.SPLIT and order.get("splitsize") not in (None, ""):
        return f"in slices of {order['splitsize']}"
    return ""


class PendingOrder(models.Model):
    """The action center: an order request from a semi-auto key, waiting for a person to approve it.

    The payload is the validated request (without the API key). Approval places it exactly once:
    the status moves from pending with a compare-and-swap update before anything is sent.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pending_orders")
    api_key = models.ForeignKey("accounts.ApiKey", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+")
    api_type = models.CharField(max_length=16, choices=PendingApiType.choices)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=PendingStatus.choices, default=PendingStatus.PENDING)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True, help_text="The API answer of the placement, once approved.")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = UserScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The action center lists a user's undecided requests.
            models.Index(fields=["user", "created_at"], name="pending_open_by_user",
                         condition=Q(status="pending")),
        ]

    def __str__(self) -> str:
        return f"{self.get_api_type_display()} #{self.pk} ({self.status})"

    @property
    def is_pending(self) -> bool:
        return self.status == PendingStatus.PENDING

    @property
    def legs(self) -> list[dict[str, str]]:
        """The orders this request would place, as queued (a basket has one per order), for the people
        who decide on it: strategy, exchange, symbol, side, quantity, price type, price, trigger, product."""
        payload = self.payload if isinstance(self.payload, dict) else {}
        orders = payload.get("orders") if self.api_type == PendingApiType.BASKET else [payload]
        strategy = str(payload.get("strategy") or "")
        return [{"strategy": str(o.get("strategy") or strategy), "exchange": str(o.get("exchange") or ""),
                 "symbol": str(o.get("symbol") or "").upper(), "action": str(o.get("action") or "").upper(),
                 "quantity": str(o.get("quantity") or ""),
                 "price_type": str(o.get("pricetype") or o.get("price_type") or "MARKET").upper(),
                 "price": str(o.get("price") or ""), "trigger_price": str(o.get("trigger_price") or ""),
                 "product": str(o.get("product") or ""), "note": _leg_note(self.api_type, o)}
                for o in (orders if isinstance(orders, list) else []) if isinstance(o, dict)]
