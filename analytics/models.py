"""Logs (traffic, API, system), the IP-ban trackers, IP bans and the never-ban list.

The logs and the trackers (analytics.routers.LOG_MODELS) live in the logs database: their own database
when LOGS_DATABASE_URL is set, a second SQLite file on the embedded default, else the default one. They
carry user ids and names, never foreign keys: a row may sit in another database than the users.
Bans and the allow-list stay in the default database, beside the users they protect, and are read
through the shared cache (analytics.bans).
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from core.archive import archive_model


class TrafficLog(models.Model):
    """One HTTP request: who, what, how it ended and how long it took. Written in batches (analytics.buffer)."""

    timestamp = models.DateTimeField(default=timezone.now)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=512, help_text="Without the query string; long random segments redacted.")
    status = models.PositiveSmallIntegerField()
    duration_ms = models.FloatField()
    host = models.CharField(max_length=255, blank=True)
    user_id = models.BigIntegerField(null=True, blank=True)
    username = models.CharField(max_length=150, blank=True)
    request_size = models.PositiveIntegerField(null=True, blank=True)
    response_size = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, help_text="The exception a view raised, if any (redacted).")

    class Meta:
        indexes = [
            # the admin's and the dashboard's "latest first", by time range
            models.Index(fields=["timestamp"], name="traffic_time"),
            # "what did this address do" (bans are decided per address)
            models.Index(fields=["client_ip", "timestamp"], name="traffic_ip_time"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.status}"


class ApiLog(models.Model):
    """One call of /api/v1/, /api/ or a webhook, with redacted, bounded request and response bodies."""

    timestamp = models.DateTimeField(default=timezone.now)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    user_id = models.BigIntegerField(null=True, blank=True)
    username = models.CharField(max_length=150, blank=True)
    key_prefix = models.CharField(max_length=16, blank=True, help_text="The public prefix of a verified key.")
    method = models.CharField(max_length=10)
    endpoint = models.CharField(max_length=512)
    status = models.PositiveSmallIntegerField()
    duration_ms = models.FloatField()
    broker = models.CharField(max_length=32, blank=True)
    query = models.TextField(blank=True)
    request_body = models.TextField(blank=True)
    response_body = models.TextField(blank=True)

    class Meta:
        verbose_name = "API log"
        indexes = [
            models.Index(fields=["timestamp"], name="apilog_time"),
            # a user's own calls, latest first (the trader's API and the admin's filter)
            models.Index(fields=["user_id", "timestamp"], name="apilog_user_time"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.endpoint} {self.status}"


class SystemLog(models.Model):
    """A WARNING or worse from Python's logging, in any process (web, worker, beat, commands)."""

    timestamp = models.DateTimeField(default=timezone.now)
    level = models.CharField(max_length=10)
    component = models.CharField(max_length=200, help_text="The logger's name.")
    message = models.TextField()
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["timestamp"], name="systemlog_time"),
                   models.Index(fields=["level", "timestamp"], name="systemlog_level_time")]

    def __str__(self) -> str:
        return f"{self.level} {self.component}: {self.message[:60]}"


class DailyTracker(models.Model):
    """A count per client address per day; past its limit (analytics.bans.limit_for) the address is banned."""

    ip = models.GenericIPAddressField()
    day = models.DateField()
    count = models.PositiveIntegerField(default=0)
    first_at = models.DateTimeField(default=timezone.now)
    last_at = models.DateTimeField(default=timezone.now)
    last_path = models.CharField(max_length=512, blank=True)

    class Meta:
        abstract = True
        constraints = [models.UniqueConstraint(fields=["ip", "day"], name="%(class)s_ip_day")]
        indexes = [models.Index(fields=["day"], name="%(class)s_day")]  # the daily clean-up

    def __str__(self) -> str:
        return f"{self.ip} {self.day}: {self.count}"


class NotFoundTracker(DailyTracker):
    """Not-found answers per client address per day (IP_BAN_NOT_FOUND_LIMIT)."""

    class Meta(DailyTracker.Meta):
        verbose_name = "not-found tracker"


class InvalidKeyTracker(DailyTracker):
    """Requests with an invalid API key per client address per day (IP_BAN_INVALID_KEY_LIMIT)."""

    class Meta(DailyTracker.Meta):
        verbose_name = "invalid-API-key tracker"


class BanSource(models.TextChoices):
    SYSTEM = "system", "System"
    OPERATOR = "operator", "Operator"


class IpBanQuerySet(models.QuerySet):
    def active(self, now=None) -> IpBanQuerySet:
        now = now or timezone.now()
        return self.filter(models.Q(is_permanent=True) | models.Q(expires_at__gt=now))


class IpBan(models.Model):
    """A banned client address. The row stays after the ban ends (expiry or an operator's lift): its
    ban_count is what makes the IP_BAN_PERMANENT_AFTER-th ban permanent."""

    ip = models.GenericIPAddressField(unique=True)
    reason = models.CharField(max_length=255)
    ban_count = models.PositiveIntegerField(default=1)
    banned_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty for a permanent ban.")
    is_permanent = models.BooleanField(default=False)
    created_by = models.CharField(max_length=16, choices=BanSource.choices, default=BanSource.OPERATOR)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.CharField(max_length=150, blank=True)

    objects = IpBanQuerySet.as_manager()

    class Meta:
        verbose_name = "IP ban"
        indexes = [models.Index(fields=["expires_at"], name="ipban_expires")]  # active bans, expiry clean-up

    def __str__(self) -> str:
        return self.ip

    @property
    def is_active(self) -> bool:
        return self.is_permanent or (self.expires_at is not None and self.expires_at > timezone.now())


class AllowedIp(models.Model):
    """An address or network that is never banned (with loopback and settings.IP_BAN_ALLOWLIST): the
    reverse proxy's address, the office, a monitoring probe."""

    network = models.CharField(max_length=64, unique=True, help_text="An address (10.0.0.5) or a network "
                                                                      "(10.0.0.0/24).")
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = "never-banned address"
        verbose_name_plural = "never-banned addresses"

    def __str__(self) -> str:
        return self.network

    def clean(self) -> None:
        import ipaddress

        from django.core.exceptions import ValidationError

        try:
            self.network = str(ipaddress.ip_network(self.network.strip(), strict=False))
        except ValueError:
            raise ValidationError({"network": "Enter an IP address or a network such as 10.0.0.0/24."}) from None


class LatencyRollup(models.Model):
    """One closed trading day's latency figures of one metric, per broker and user (analytics.services.rollup).

    A row with no user holds all users of the broker that day (what an operator's unfiltered report
    reads: one row per broker-day instead of one per user). `buckets` is the distribution as a flat
    list [lower edge µs, count, lower edge µs, count, ...], ascending; the bucket scheme and its error
    bound are in analytics.services.rollup. Derived from the orders: rolling a day again replaces it.
    """

    day = models.DateField(help_text="The trading day (IST).")
    broker = models.CharField(max_length=32, help_text="The broker's name (`sandbox`: analyze mode).")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True,
                             related_name="+", db_index=False, help_text="Empty: all users of the broker.")
    metric = models.CharField(max_length=16)
    count = models.PositiveIntegerField()
    sum_us = models.BigIntegerField(help_text="Sum of the orders' figures, µs (the mean is exact).")
    max_us = models.BigIntegerField()
    buckets = models.JSONField(default=list)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "broker", "user", "metric"], condition=models.Q(user__isnull=False),
                                    name="latencyrollup_unique_user"),
            models.UniqueConstraint(fields=["day", "broker", "metric"], condition=models.Q(user__isnull=True),
                                    name="latencyrollup_unique_all"),
        ]
        # A trader's own days (the unique constraints' indexes serve the operator's ranges of days).
        indexes = [models.Index(fields=["user", "day"], name="latencyrollup_user_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.broker} {self.user_id or 'all'} {self.metric}: {self.count}"


class LatencyRollupDay(models.Model):
    """A trading day whose LatencyRollup rows are complete (possibly none: a day without orders). A day
    without this row is read from the orders themselves."""

    day = models.DateField(unique=True)
    orders = models.PositiveIntegerField(help_text="Orders with a broker time that day.")
    rolled_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "latency rollup day"

    def __str__(self) -> str:
        return str(self.day)


# Archives of the logs (maintenance's retention policies with the "archive" action), in the logs database
# beside them (analytics.routers.LOG_MODELS): the same columns, ids kept (core.archive).
_ARCHIVED = "A log row past its retention window, kept with the columns it had."
TrafficLogArchive = archive_model(TrafficLog, "TrafficLogArchive", module=__name__, doc=_ARCHIVED,
                                  verbose_name="archived traffic log")
ApiLogArchive = archive_model(ApiLog, "ApiLogArchive", module=__name__, doc=_ARCHIVED,
                              verbose_name="archived API log")
SystemLogArchive = archive_model(SystemLog, "SystemLogArchive", module=__name__, doc=_ARCHIVED,
                                 verbose_name="archived system log")


class Heartbeat(models.Model):
    """The last run of a beat-scheduled no-op task (analytics.tasks.heartbeat), one row per component.

    A worker writes it when the task runs; the dashboard reads it (a stale one means no worker ran it).
    In the default database, beside django-celery-beat's schedules, not among the logs."""

    name = models.CharField(max_length=32, unique=True)
    seen_at = models.DateTimeField()
    detail = models.CharField(max_length=200, blank=True, help_text="The worker's host name.")

    def __str__(self) -> str:
        return f"{self.name} @ {self.seen_at:%Y-%m-%d %H:%M:%S}"


class PnlRollup(models.Model):
    """Realized P&L of one closed trading day (IST), per user, strategy tag and mode (sandbox or live), summed
    from the books' closing fills (analytics.services.pnl_rollup). Derived: rolling a day again replaces it."""

    day = models.DateField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    strategy = models.CharField(max_length=100, blank=True, help_text="The orders' strategy tag (\"\": none).")
    mode = models.CharField(max_length=8)
    realized = models.DecimalField(max_digits=18, decimal_places=2)

    class Meta:
        verbose_name = "P&L rollup"
        constraints = [models.UniqueConstraint(fields=["day", "user", "strategy", "mode"], name="pnlrollup_unique")]
        # A trader's own range of days (the unique constraint's index, day first, serves everyone's range).
        indexes = [models.Index(fields=["user", "day"], name="pnlrollup_user_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.user_id} {self.strategy or '-'} {self.mode}: {self.realized}"


class PnlRollupDay(models.Model):
    """A closed trading day whose PnlRollup rows are complete (possibly none). A day without this row is
    summed from the books themselves."""

    day = models.DateField(unique=True)
    rows = models.PositiveIntegerField(default=0)
    rolled_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "P&L rollup day"

    def __str__(self) -> str:
        return str(self.day)
