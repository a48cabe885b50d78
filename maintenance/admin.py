"""Retention policies in the admin: windows, actions, batch sizes and switches are edited here; times in
*Periodic tasks*. Policies are neither added nor deleted here (one per registered target, made by
`migrate`): disable one to stop it."""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from maintenance import targets
from maintenance.models import RetentionPolicy


class RetentionPolicyForm(forms.ModelForm):
    """The policy's table is fixed (one policy per registered table); model.clean() checks the action."""

    class Meta:
        model = RetentionPolicy
        fields = ["keep_days", "action", "batch_size", "enabled"]


def _when(task) -> str:
    """"02:00 daily, Asia/Kolkata" for a plain daily crontab; the schedule's own text otherwise."""
    cron = task.crontab
    if cron is not None and cron.minute.isdigit() and cron.hour.isdigit() and \
            (cron.day_of_week, cron.day_of_month, cron.month_of_year) == ("*", "*", "*"):
        state = "" if task.enabled else " (task disabled)"
        return f"{int(cron.hour):02d}:{int(cron.minute):02d} daily, {cron.timezone}{state}"
    return str(cron or task.interval or task)


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(admin.ModelAdmin):
    form = RetentionPolicyForm
    list_display = ["target", "label", "keep_days", "action", "batch_size", "enabled", "nightly_run", "last_run_at",
                    "last_result"]
    list_editable = ["enabled"]
    list_filter = ["enabled", "action"]
    search_fields = ["target"]
    readonly_fields = ["target", "nightly_run", "last_run_at", "last_result", "running_until"]
    fields = ["target", "keep_days", "action", "batch_size", "enabled", *readonly_fields[1:]]
    actions = ["run_now"]

    @admin.display(description="table")
    def label(self, obj: RetentionPolicy) -> str:
        target = targets.TARGETS.get(obj.target)
        return target.label if target else "(no longer registered)"

    @admin.display(description="nightly run")
    def nightly_run(self, obj: RetentionPolicy):
        if obj.schedule_id is None:
            return "-"
        url = reverse("admin:django_celery_beat_periodictask_change", args=[obj.schedule_id])
        return format_html('<a href="{}">{}</a>', url, _when(obj.schedule))

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("schedule__crontab")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        # One policy per registered table, made by `migrate` (maintenance.signals): never added by hand.
        return False


    @admin.action(description="Queue a run of the selected enabled policies now")
    def run_now(self, request, queryset) -> None:
        from maintenance.tasks import run_retention_policy

        queued = [p.target for p in queryset.filter(enabled=True)]
        for policy in queryset.filter(enabled=True):
            run_retention_policy.delay(policy.pk)
        self.message_user(request, f"Queued: {', '.join(queued) or 'nothing (no enabled policy selected)'}.",
                          messages.SUCCESS if queued else messages.WARNING)

