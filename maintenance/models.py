"""Retention policies: one per registered target (maintenance.targets), each with its nightly schedule."""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from maintenance import targets


class RetentionAction(models.TextChoices):
    ARCHIVE = targets.ARCHIVE, "Archive, then delete"
    DELETE = targets.DELETE, "Delete"


class RetentionPolicy(models.Model):
    """How long a table's rows are kept and what happens to them after: archived (copied to the table's
    archive, then deleted) or deleted. Run nightly by its own periodic task (`schedule`), or by hand
    with `manage.py retention run --policy TARGET`."""

    target = models.CharField(max_length=64, unique=True,
                              help_text="The table, as registered in maintenance.targets (e.g. analytics.traffic).")
    keep_days = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(36500)],
                                            help_text="Rows older than this many days are archived or deleted.")
    action = models.CharField(max_length=8, choices=RetentionAction.choices, default=RetentionAction.DELETE)
    batch_size = models.PositiveIntegerField(
        default=2000, validators=[MinValueValidator(100), MaxValueValidator(50_000)],
        help_text="Rows per transaction: small enough that no batch holds its table for long.")
    enabled = models.BooleanField(default=True)
    schedule = models.OneToOneField("django_celery_beat.PeriodicTask", on_delete=models.SET_NULL, null=True,
                                    blank=True, related_name="+", editable=False,
                                    help_text="Its nightly run (Periodic tasks; the time is edited there).")
    last_run_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_result = models.TextField(blank=True, editable=False, help_text="The last run's one-line summary.")
    # A run claims the policy until this time (compare-and-swap), so two runs never overlap; a crashed
    # run's claim simply expires.
    running_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "retention policy"
        verbose_name_plural = "retention policies"
        ordering = ["target"]

    def __str__(self) -> str:
        return self.target

    def get_target(self) -> targets.Target:
        return targets.get(self.target)

    def clean(self) -> None:
        try:
            target = self.get_target()
        except targets.UnknownTarget as exc:
            # Not keyed by field: the admin's form has no target field (a policy's table is fixed).
            raise ValidationError(f"target: {exc}") from None
        if self.action == RetentionAction.ARCHIVE and not target.archive:
            raise ValidationError({"action": f"{self.target} has no archive table: choose Delete."})
