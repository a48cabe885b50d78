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
    ADMIN = "admin", "Admin"


class User(AbstractUser):
    """A person who signs in. Operators are staff users; traders reach the API with API keys."""

    email = models.EmailField("e-mail address", unique=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.TRADER)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UserManager()

    REQUIRED_FIELDS = ["email"]

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        return self.username


class OrderMode(models.TextChoices):
    AUTO = "auto", "Auto (orders go to the broker)"
    SEMI_AUTO = "semi_auto", "Semi-auto (orders wait in the action center)"


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


class RiskSettings(models.Model):
    """One per user: limits the order pipeline enforces before any broker is called."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="risk_settings")
    max_order_value = models.DecimalField(max_digits=16, decimal_places=2, default=_d("1000000.00"),
                                          validators=_NOT_NEGATIVE,
                                          help_text="Largest value of one order (quantity × price), INR.")
    max_position_value = models.DecimalField(max_digits=16, decimal_places=2, default=_d("5000000.00"),
                                             validators=_NOT_NEGATIVE,
                                             help_text="Largest value of one open position, INR.")
    daily_loss_limit = models.DecimalField(max_digits=16, decimal_places=2, default=_d("100000.00"),
                                           validators=_NOT_NEGATIVE,
                                           help_text="New orders are refused once today's loss reaches this, INR.")
    max_open_orders = models.PositiveIntegerField(default=50)
    max_orders_per_day = models.PositiveIntegerField(default=1000)
    trading_enabled = models.BooleanField(default=True, help_text="Kill switch: off refuses every new order.")
    allow_after_market_orders = models.BooleanField(
        default=False, help_text="Accept orders outside market hours (they are routed, not refused)."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "risk settings"
        verbose_name_plural = "risk settings"
        constraints = [
            models.CheckConstraint(condition=models.Q(max_order_value__gte=0), name="risk_max_order_value_gte_0"),
            models.CheckConstraint(condition=models.Q(max_position_value__gte=0),
                                   name="risk_max_position_value_gte_0"),
            models.CheckConstraint(condition=models.Q(daily_loss_limit__gte=0), name="risk_daily_loss_limit_gte_0"),
        ]

    def __str__(self) -> str:
        return f"Risk settings of {self.user}"


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
