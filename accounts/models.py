"""Accounts: users, API keys, risk limits, user settings, the activity (audit) log, and (from
accounts.otp_devices) the authenticator-app device with its encrypted TOTP seed."""
from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

from accounts.fields import EncryptedJSONField, EncryptedTextField
from accounts.otp_devices import AuthenticatorDevice  # noqa: F401  (the TOTP second factor, an accounts model)


class Role(models.TextChoices):
    TRADER = "trader", "Trader"
    INVESTOR = "investor", "Investor"
    ADMIN = "admin", "Operator"  # runs the platform in the admin; superusers are operators


class AlgoDeskUserManager(UserManager):
    def create_superuser(self, username, email=None, password=None, **extra_fields):
        extra_fields.setdefault("role", Role.ADMIN)
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    """A person who signs in. Operators are staff users; traders reach the API with API keys."""

    email = models.EmailField("e-mail address", unique=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.TRADER)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AlgoDeskUserManager()

    REQUIRED_FIELDS = ["email"]

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        return self.username


class OrderMode(models.TextChoices):
    AUTO = "auto", "Auto (orders go to the broker)"
    SEMI_AUTO = "semi_auto", "Semi-auto (orders wait in the action center)"
    READ_ONLY = "read_only", "Read-only (books, funds and market data; no orders)"


class Capability(models.TextChoices):
    """What a request may do. Every API view action needs one (accounts.permissions checks it)."""

    READ = "read", "Read books, funds and market data"
    PLACE = "place", "Place orders (a semi-auto key's wait in the action center)"
    MANAGE = "manage", "Modify, cancel and close orders and positions; change accounts and modes"
    DECIDE = "decide", "Approve or reject pending orders (a person with a second factor, never a key)"


# What each kind of API key may do. DECIDE is in none, by design: approval is a person's act.
KEY_CAPABILITIES: dict[str, frozenset[str]] = {
    OrderMode.AUTO: frozenset({Capability.READ, Capability.PLACE, Capability.MANAGE}),
    OrderMode.SEMI_AUTO: frozenset({Capability.READ, Capability.PLACE}),
    OrderMode.READ_ONLY: frozenset({Capability.READ}),
}


class ApiKeyQuerySet(models.QuerySet):
    def for_user(self, user: User) -> ApiKeyQuerySet:
        return self.filter(user=user)

    def usable(self) -> ApiKeyQuerySet:
        now = timezone.now()
        return self.filter(is_active=True).filter(models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now))


class ApiKey(models.Model):
    """A named API key `<prefix>.<secret>`: Argon2 hash of key + pepper, plus an encrypted copy.

    The prefix is public and indexed so verification is one indexed lookup and one Argon2 verify,
    whatever the number of users or keys. The encrypted copy lets the owner reveal the key again
    (after re-entering the password) and lets webhooks sign with it.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=64)
    prefix = models.CharField(max_length=16, unique=True, editable=False)  # unique => indexed
    key_hash = models.CharField(max_length=255, editable=False)
    key_encrypted = EncryptedTextField(editable=False)
    order_mode = models.CharField(max_length=16, choices=OrderMode.choices, default=OrderMode.AUTO)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Optional; the key stops working after this.")
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        verbose_name = "API key"
        ordering = ["user", "name"]
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="apikey_unique_name_per_user")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()


def _d(value: str) -> Decimal:
    return Decimal(value)


_NOT_NEGATIVE = [MinValueValidator(Decimal("0"))]  # per-field errors; the check constraints back them up

# The limits a user has, each twice: the operator's (operator_<name>, set in the admin) and the one in
# force (<name>, what the order pipeline reads). A user may only tighten: the one in force is always the
# operator's or stricter. For amounts and counts 0 means no limit; for switches False is the stricter.
LIMITS = ("max_order_value", "max_position_value", "daily_loss_limit", "max_open_orders", "max_orders_per_day",
          "trading_enabled", "allow_after_market_orders")
SWITCHES = ("trading_enabled", "allow_after_market_orders")


def stricter(a, b):
    """The stricter of two values of one limit: for a switch, on only if both are; else the smaller,
    0 (no limit) being the loosest."""
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a) and bool(b)
    if not a:
        return b
    if not b:
        return a
    return min(a, b)


def _money_limit(default: str, help_text: str, verbose_name: str | None = None) -> models.DecimalField:
    return models.DecimalField(verbose_name, max_digits=16, decimal_places=2, default=_d(default),
                               validators=_NOT_NEGATIVE, help_text=help_text)


def _within_operator(name: str) -> models.CheckConstraint:
    """The limit in force is the operator's or stricter."""
    ceiling = f"operator_{name}"
    if name in SWITCHES:
        condition = models.Q(**{ceiling: True}) | models.Q(**{name: False})
    else:
        condition = models.Q(**{ceiling: 0}) | models.Q(**{f"{name}__gt": 0, f"{name}__lte": models.F(ceiling)})
    return models.CheckConstraint(condition=condition, name=f"risk_{name}_within_operator"[:63],
                                  violation_error_message=f"{name}: is above what the operator allows.")


class RiskSettings(models.Model):
    """One per user: limits the order pipeline enforces before any broker is called.

    An operator sets operator_<limit>; the user may set <limit>, the one in force, only as strict or
    stricter (accounts.services.risk). The order pipeline reads the <limit> fields only."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="risk_settings")
    max_order_value = _money_limit("1000000.00", "Largest value of one order (quantity × price), INR. 0 = no limit.")
    max_position_value = _money_limit("5000000.00", "Largest value of one open position, INR. 0 = no limit.")
    daily_loss_limit = _money_limit("100000.00", "New orders are refused once today's loss reaches this, INR. "
                                                 "0 = no limit.")
    max_open_orders = models.PositiveIntegerField(default=50, help_text="Orders open at once. 0 = no limit.")
    max_orders_per_day = models.PositiveIntegerField(default=1000, help_text="Orders sent per day. 0 = no limit.")
    trading_enabled = models.BooleanField(default=True, help_text="Kill switch: off refuses every new order.")
    allow_after_market_orders = models.BooleanField(
        default=False, help_text="Accept orders outside market hours (they are routed, not refused)."
    )
    operator_max_order_value = _money_limit("1000000.00", "The most the user may allow per order, INR. "
                                                          "0 = no limit.", "operator's max order value")
    operator_max_position_value = _money_limit("5000000.00", "The most the user may allow per position, INR. "
                                                             "0 = no limit.", "operator's max position value")
    operator_daily_loss_limit = _money_limit("100000.00", "The largest daily loss the user may allow, INR. "
                                                          "0 = no limit.", "operator's daily loss limit")
    operator_max_open_orders = models.PositiveIntegerField("operator's max open orders", default=50,
                                                           help_text="0 = no limit.")
    operator_max_orders_per_day = models.PositiveIntegerField("operator's max orders per day", default=1000,
                                                              help_text="0 = no limit.")
    operator_trading_enabled = models.BooleanField("operator lets the user trade", default=True,
                                                   help_text="Off stops the user's trading; they cannot turn it on.")
    operator_allow_after_market_orders = models.BooleanField(
        "operator allows after-market orders", default=False,
        help_text="Only then may the user accept orders outside market hours.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "risk settings"
        verbose_name_plural = "risk settings"
        constraints = [
            models.CheckConstraint(condition=models.Q(max_order_value__gte=0), name="risk_max_order_value_gte_0"),
            models.CheckConstraint(condition=models.Q(max_position_value__gte=0),
                                   name="risk_max_position_value_gte_0"),
            models.CheckConstraint(condition=models.Q(daily_loss_limit__gte=0), name="risk_daily_loss_limit_gte_0"),
            *(_within_operator(name) for name in LIMITS),
        ]

    def __str__(self) -> str:
        return f"Risk settings of {self.user}"

    def clean(self) -> None:
        # An operator lowering a limit below the user's takes it down with it.
        for name in LIMITS:
            setattr(self, name, stricter(getattr(self, name), getattr(self, f"operator_{name}")))


class SettingCategory(models.TextChoices):
    TRADING = "TRADING", "Trading"
    UI = "UI", "User interface"
    NOTIFICATION = "NOTIFICATION", "Notification"


class UserSetting(models.Model):
    """A per-user preference. Secret values (is_encrypted) live only in the encrypted column."""

    ANALYZE_MODE = "analyze_mode"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="settings")
    key = models.CharField(max_length=64)
    category = models.CharField(max_length=16, choices=SettingCategory.choices, default=SettingCategory.TRADING)
    is_encrypted = models.BooleanField(default=False)
    value = models.JSONField(null=True, blank=True)
    encrypted_value = EncryptedJSONField(null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user", "category", "key"]
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="usersetting_unique_key_per_user")]

    def __str__(self) -> str:
        return f"{self.user}: {self.key}"

    def get_value(self):
        return self.encrypted_value if self.is_encrypted else self.value

    def set_value(self, value) -> None:
        if self.is_encrypted:
            self.encrypted_value, self.value = value, None
        else:
            self.value, self.encrypted_value = value, None


class Activity(models.TextChoices):
    LOGIN = "login", "Logged in"
    LOGIN_FAILED = "login_failed", "Failed login"
    LOGOUT = "logout", "Logged out"
    LOCKED_OUT = "locked_out", "Locked out"
    OTP_ENROLLED = "otp_enrolled", "Second factor enrolled"
    OTP_VERIFIED = "otp_verified", "Second factor verified"
    OTP_FAILED = "otp_failed", "Second factor failed"
    OTP_RESET = "otp_reset", "Second factor reset"
    BACKUP_CODES = "backup_codes", "Backup codes generated"
    APIKEY_CREATED = "apikey_created", "API key created"
    APIKEY_REVEALED = "apikey_revealed", "API key revealed"
    APIKEY_REVOKED = "apikey_revoked", "API key revoked"
    APIKEY_CHANGED = "apikey_changed", "API key changed"
    PASSWORD_CHANGED = "password_changed", "Password changed"
    RISK_CHANGED = "risk_changed", "Risk settings changed"
    SETTING_CHANGED = "setting_changed", "Setting changed"
    USER_CHANGED = "user_changed", "User changed by an operator"
    USER_DEACTIVATED = "user_deactivated", "User deactivated"
    BROKER_FAILOVER = "broker_failover", "Primary broker account failed over"
    BROKER_FAILBACK = "broker_failback", "Primary broker account restored (fail-back)"
    BROKER_NEEDS_LOGIN = "broker_needs_login", "Broker account needs a new login"
    BROKER_PINNED = "broker_pinned", "Broker account pinned or unpinned"


class ActivityLog(models.Model):
    """An append-only audit trail; read-only in the admin."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="activity")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+", help_text="Who did it, when not the user (an operator).")
    action = models.CharField(max_length=32, choices=Activity.choices, db_index=True)
    details = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # A user's history, newest first (self-service page, admin filter).
            models.Index(fields=["user", "-created_at"], name="activity_user_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.user or '-'}"
