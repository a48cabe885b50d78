"""Brokers: trading accounts with encrypted credentials, the instrument master, connection health, failover."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models

from accounts.fields import EncryptedJSONField, EncryptedTextField
from brokers.adapters.egress import Egress, egress_problems
from brokers.adapters.registry import broker_names


def broker_choices() -> list[tuple[str, str]]:
    # A callable, so adding a broker in settings.BROKER_ADAPTERS needs no migration.
    return [(name, name) for name in broker_names()]


class ConnectionStatus(models.TextChoices):
    CONNECTED = "connected", "Connected"
    DEGRADED = "degraded", "Degraded"
    DISCONNECTED = "disconnected", "Disconnected"
    FAILED = "failed", "Failed"
    NEEDS_LOGIN = "needs_login", "Needs a new login"


class TradingAccountQuerySet(models.QuerySet):
    def for_user(self, user: Any) -> TradingAccountQuerySet:
        return self.filter(user=user)

    def active(self) -> TradingAccountQuerySet:
        return self.filter(is_active=True)


class TradingAccount(models.Model):
    """One broker login of a user. Credentials are encrypted at rest and never displayed.

    At most one account per user is primary (a partial unique constraint); orders go to it.
    `priority` orders the failover candidates, lower first. The health check keeps the connection
    fields and the two streak counters; brokers.services.failover reads them to fail over after a run
    of failures and to restore the original primary (`standing_in_for`) after a run of successes.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trading_accounts")
    name = models.CharField(max_length=64)
    broker = models.CharField(max_length=32, choices=broker_choices)
    credentials = EncryptedJSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    is_primary = models.BooleanField(default=False)
    priority = models.PositiveSmallIntegerField(default=100, help_text="Failover order: lower first.")
    connection_status = models.CharField(
        max_length=16, choices=ConnectionStatus.choices, default=ConnectionStatus.DISCONNECTED
    )
    last_connected_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0, help_text="Failed health checks in a row.")
    consecutive_successes = models.PositiveIntegerField(default=0, help_text="Healthy checks in a row.")
    pinned = models.BooleanField(
        default=False, help_text="Opt out of automatic failover: the primary never moves away from or onto "
                                 "this account by itself.")
    standing_in_for = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="stand_ins",
        help_text="The primary this account replaced by failover; it is restored once healthy again.")
    egress_source_address = models.GenericIPAddressField(
        null=True, blank=True, verbose_name="egress source address",
        help_text="Orders and checks of this account leave from this local address (the static IP "
                  "registered with the broker).")
    egress_proxy_url = EncryptedTextField(
        null=True, blank=True, default=None, verbose_name="egress proxy URL",
        help_text="Or through this proxy: http://, https://, socks5:// or socks5h://host:port (stored encrypted).")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TradingAccountQuerySet.as_manager()

    class Meta:
        ordering = ["user_id", "priority", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="brokers_account_unique_name_per_user"),
            models.UniqueConstraint(
                fields=["user"], condition=models.Q(is_primary=True), name="brokers_account_one_primary_per_user"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.broker})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # No proxy is NULL, never the token of an empty string (nothing to decrypt or rotate).
        self.egress_proxy_url = (self.egress_proxy_url or "").strip() or None
        self.egress_source_address = self.egress_source_address or None
        super().save(*args, **kwargs)

    def clean(self) -> None:
        super().clean()
        if self.broker and self.broker not in broker_names():
            raise ValidationError(
                {"broker": f"Unknown broker {self.broker!r}; known: {', '.join(broker_names())}."}
            )
        if self.credentials is not None and not isinstance(self.credentials, dict):
            raise ValidationError({"credentials": "Credentials must be a mapping of field name to value."})
        problems = egress_problems(self.egress_source_address or "", self.egress_proxy_url or "")
        if problems:
            raise ValidationError(problems)

    @property
    def egress(self) -> Egress:
        return Egress(source_address=self.egress_source_address or "", proxy_url=self.egress_proxy_url or "")

    @property
    def credential_keys(self) -> list[str]:
        """The names of the credentials that are set (never their values)."""
        return sorted(k for k, v in (self.credentials or {}).items() if v not in (None, ""))


class Exchange(models.TextChoices):
    NSE = "NSE", "NSE"
    BSE = "BSE", "BSE"
    NFO = "NFO", "NSE F&O"
    BFO = "BFO", "BSE F&O"
    CDS = "CDS", "NSE currency"
    BCD = "BCD", "BSE currency"
    MCX = "MCX", "MCX"
    NCDEX = "NCDEX", "NCDEX"
    NCO = "NCO", "NSE commodity"
    NSE_INDEX = "NSE_INDEX", "NSE index"
    BSE_INDEX = "BSE_INDEX", "BSE index"
    MCX_INDEX = "MCX_INDEX", "MCX index"
    CRYPTO = "CRYPTO", "Crypto"


class InstrumentType(models.TextChoices):
    EQ = "EQ", "Equity"
    FUT = "FUT", "Future"
    CE = "CE", "Call option"
    PE = "PE", "Put option"
    INDEX = "INDEX", "Index"


# The order vocabulary every broker speaks (OpenAlgo's values); trading and sandbox both use these.
class Action(models.TextChoices):
    BUY = "BUY", "Buy"
    SELL = "SELL", "Sell"


class PriceType(models.TextChoices):
    MARKET = "MARKET", "Market"
    LIMIT = "LIMIT", "Limit"
    SL = "SL", "Stop-loss limit"
    SL_M = "SL-M", "Stop-loss market"


class Product(models.TextChoices):
    MIS = "MIS", "Intraday (MIS)"
    CNC = "CNC", "Delivery (CNC)"
    NRML = "NRML", "Carry-forward (NRML)"


class Instrument(models.Model):
    """One tradable (or quotable) contract in OpenAlgo's symbol format: the instrument master.

    `underlying` is the root a derivative belongs to (NIFTY for NIFTY27JAN26FUT); for equities
    and indices it equals the symbol. Read through brokers.services.instruments (cached).
    """

    exchange = models.CharField(max_length=16, choices=Exchange.choices)
    symbol = models.CharField(max_length=64)
    name = models.CharField(max_length=128, blank=True)
    underlying = models.CharField(max_length=64, blank=True)
    instrument_type = models.CharField(max_length=8, choices=InstrumentType.choices)
    expiry = models.DateField(null=True, blank=True)
    strike = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    lot_size = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    tick_size = models.DecimalField(max_digits=12, decimal_places=4)
    freeze_qty = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["exchange", "symbol"]
        constraints = [
            models.UniqueConstraint(fields=["exchange", "symbol"], name="brokers_instrument_unique_exchange_symbol"),
            models.CheckConstraint(condition=models.Q(lot_size__gte=1), name="brokers_instrument_lot_size_positive"),
            models.CheckConstraint(condition=models.Q(tick_size__gt=0), name="brokers_instrument_tick_size_positive"),
        ]
        indexes = [
            # search(): symbol prefix look-ups across exchanges.
            models.Index(fields=["symbol"], name="brokers_instrument_symbol"),
            # expiries(): the distinct expiries of one underlying's futures or options.
            models.Index(fields=["underlying", "exchange", "instrument_type", "expiry"],
                         name="brokers_instrument_underlying"),
        ]

    def __str__(self) -> str:
        return f"{self.exchange}:{self.symbol}"


class BrokerToken(models.Model):
    """How one broker names an instrument: its token, symbol and exchange code."""

    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="broker_tokens")
    broker = models.CharField(max_length=32, choices=broker_choices)
    token = models.CharField(max_length=64)
    broker_symbol = models.CharField(max_length=64, blank=True)
    broker_exchange = models.CharField(max_length=16, blank=True)

    class Meta:
        ordering = ["broker", "instrument_id"]
        constraints = [
            models.UniqueConstraint(fields=["broker", "instrument"], name="brokers_token_unique_broker_instrument"),
        ]
        indexes = [
            # Market-data feeds identify ticks by token: map them back to instruments.
            models.Index(fields=["broker", "token"], name="brokers_token_broker_token"),
        ]

    def __str__(self) -> str:
        return f"{self.broker}:{self.token}"


class WebSocketConnection(models.Model):
    """One market-data / order-update socket of a trading account, with counters for monitoring."""

    account = models.ForeignKey(TradingAccount, on_delete=models.CASCADE, related_name="websocket_connections")
    connection_id = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=ConnectionStatus.choices, default=ConnectionStatus.DISCONNECTED)
    connected_at = models.DateTimeField(null=True, blank=True)
    disconnected_at = models.DateTimeField(null=True, blank=True)
    messages_received = models.PositiveBigIntegerField(default=0)
    last_heartbeat = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-connected_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "connection_id"], name="brokers_ws_unique_connection"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id}:{self.connection_id} ({self.status})"


class FailoverKind(models.TextChoices):
    FAILOVER = "failover", "Failover"
    FAILBACK = "failback", "Fail-back"


class FailoverEvent(models.Model):
    """An audit record of one failover attempt from a failing primary account to the next one, or of
    the fail-back to the original primary once it is healthy again.

    The account links survive deletion of the accounts (SET_NULL), so the history stays.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="failover_events")
    kind = models.CharField(max_length=16, choices=FailoverKind.choices, default=FailoverKind.FAILOVER)
    from_account = models.ForeignKey(
        TradingAccount, on_delete=models.SET_NULL, null=True, blank=True, related_name="failovers_from"
    )
    to_account = models.ForeignKey(
        TradingAccount, on_delete=models.SET_NULL, null=True, blank=True, related_name="failovers_to"
    )
    reason = models.TextField()
    success = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # A user's recent failovers, newest first (their accounts page).
            models.Index(fields=["user", "-created_at"], name="brokers_failover_user_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.from_account_id} -> {self.to_account_id} ({'ok' if self.success else 'failed'})"
