"""Accounts admin: users, API keys (masked), risk and user settings, the read-only activity log.

Changes go through the same services as the self-service pages, so the cache is kept right and every
operator change lands in the activity log with the operator as actor. Second-factor devices are shown
without their secrets; an operator resets a user's second factor with the user action.
"""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest
from django_otp.plugins.otp_static.models import StaticDevice

from accounts.models import LIMITS, Activity, ActivityLog, ApiKey, AuthenticatorDevice, RiskSettings, User, UserSetting
from accounts.services import apikeys, otp, risk, usersettings
from accounts.services.activity import log_activity
from core.numbers import NumbersAdminMixin

MASK = "••••••••"


# --- Users ----------------------------------------------------------------------------------------

class TwoFactorFilter(admin.SimpleListFilter):
    title = "second factor"
    parameter_name = "2fa"

    def lookups(self, request, model_admin):
        return [("yes", "Enrolled"), ("no", "Not enrolled")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(otp_enrolled=self.value() == "yes")
        return queryset


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "email", "role", "is_staff", "is_active", "two_factor", "last_login"]
    list_filter = ["role", "is_staff", "is_superuser", "is_active", TwoFactorFilter]
    search_fields = ["username", "email", "first_name", "last_name"]
    ordering = ["username"]
    readonly_fields = ["last_login", "date_joined", "created_at", "updated_at"]
    fieldsets = [
        *DjangoUserAdmin.fieldsets[:1],
        ("Personal info", {"fields": ["first_name", "last_name", "email", "role"]}),
        *DjangoUserAdmin.fieldsets[2:],
        ("Record", {"fields": ["created_at", "updated_at"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["username", "email", "role", "password1", "password2"]})]
    actions = ["deactivate_users", "reset_second_factor"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        confirmed = AuthenticatorDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
        return super().get_queryset(request).annotate(otp_enrolled=Exists(confirmed))

    @admin.display(boolean=True, description="2FA", ordering="otp_enrolled")
    def two_factor(self, obj: User) -> bool:
        return getattr(obj, "otp_enrolled", False)

    def save_model(self, request: HttpRequest, obj: User, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        fields = sorted(set(form.changed_data) - {"password1", "password2"})
        if change and not fields:
            return
        log_activity(Activity.USER_CHANGED, user=obj, request=request, actor=request.user,
                     fields=fields, created=not change)

    def user_change_password(self, request: HttpRequest, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            user = User.objects.filter(pk=id).first()
            log_activity(Activity.PASSWORD_CHANGED, user=user, request=request, actor=request.user, via="admin")
        return response

    @admin.action(description="Deactivate selected users (they can no longer sign in or use API keys)")
    def deactivate_users(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = 0
        for user in queryset.filter(is_active=True).exclude(pk=request.user.pk):
            User.objects.filter(pk=user.pk).update(is_active=False)
            apikeys.forget_user(user.pk)  # cached API-key verifications carry the user's row
            log_activity(Activity.USER_DEACTIVATED, user=user, request=request, actor=request.user,
                         fields=["is_active"], operation="deactivate")
            count += 1
        self.message_user(request, f"{count} user(s) deactivated (you cannot deactivate yourself).")

    @admin.action(description="Reset second factor (the user enrolls again at the next sign-in)")
    def reset_second_factor(self, request: HttpRequest, queryset: QuerySet) -> None:
        for user in queryset:
            otp.reset(user, request=request, actor=request.user)
        self.message_user(request, f"Second factor reset for {queryset.count()} user(s).")


# --- API keys -------------------------------------------------------------------------------------

class ApiKeyAddForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["user", "name", "order_mode", "expires_at"]


class ApiKeyChangeForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["name", "order_mode", "expires_at"]

    def clean_name(self) -> str:
        # The user is read-only here, so the model's (user, name) constraint is not checked by the form.
        name = self.cleaned_data["name"].strip()
        if ApiKey.objects.filter(user_id=self.instance.user_id, name=name).exclude(pk=self.instance.pk).exists():
            raise ValidationError(f"{self.instance.user} already has a key named {name!r}.")
        return name


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Shows the public prefix only; never the hash or the encrypted copy. Keys are made by the service."""

    list_display = ["name", "user", "masked_key", "order_mode", "is_active", "created_at", "last_used_at",
                    "expires_at"]
    list_filter = ["order_mode", "is_active", "created_at"]
    search_fields = ["name", "prefix", "user__username", "user__email"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]
    fields = ["user", "name", "masked_key", "order_mode", "is_active", "expires_at", "created_at",
              "last_used_at", "revoked_at"]
    readonly_fields = ["user", "masked_key", "is_active", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke_keys"]

    @admin.display(description="key")
    def masked_key(self, obj: ApiKey) -> str:
        return f"{obj.prefix}.{MASK}" if obj.prefix else "-"

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = ApiKeyAddForm if obj is None else ApiKeyChangeForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        return ApiKeyAddForm.Meta.fields if obj is None else self.fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def save_model(self, request: HttpRequest, obj: ApiKey, form, change: bool) -> None:
        data = form.cleaned_data
        if change:
            apikeys.change(obj, request=request, actor=request.user,
                           **{name: data[name] for name in form.changed_data})
            return
        try:
            key, raw = apikeys.create_key(data["user"], data["name"], data["order_mode"], data["expires_at"],
                                          request=request, actor=request.user)
        except apikeys.ApiKeyError as exc:  # the form checks uniqueness too; this is the race
            raise ValidationError(str(exc)) from exc
        obj.pk, obj.prefix, obj.created_at = key.pk, key.prefix, key.created_at
        self.message_user(request, f"New key for {key.user} (shown once; copy it now): {raw}", messages.WARNING)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoke instead: a deleted row would leave its cached verification alive

    @admin.action(description="Revoke selected keys")
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet) -> None:
        keys = list(queryset.filter(is_active=True).select_related("user"))
        for key in keys:
            apikeys.revoke(key, request=request, actor=request.user)
        self.message_user(request, f"{len(keys)} key(s) revoked.")


# --- Risk and user settings -----------------------------------------------------------------------

@admin.register(RiskSettings)
class RiskSettingsAdmin(NumbersAdminMixin, admin.ModelAdmin):
    """Operators set each user's limits (operator_<limit>); the user may only tighten them on their risk
    page, and the limits in force (read-only here) are what the order pipeline checks."""

    list_display = ["user", "trading_enabled", "operator_trading_enabled", "max_order_value",
                    "operator_max_order_value", "daily_loss_limit", "operator_daily_loss_limit",
                    "max_open_orders", "operator_max_open_orders", "updated_at"]
    list_filter = ["operator_trading_enabled", "trading_enabled", "operator_allow_after_market_orders"]
    search_fields = ["user__username", "user__email"]
    list_select_related = ["user"]
    fieldsets = [
        (None, {"fields": ["user", "updated_at"]}),
        ("The operator's limits (the user may only tighten them)",
         {"fields": [f"operator_{name}" for name in LIMITS]}),
        ("In force (the operator's, or the user's own stricter choice)", {"fields": list(LIMITS)}),
    ]
    readonly_fields = ["user", "updated_at", *LIMITS]

    def has_add_permission(self, request) -> bool:
        return False  # every user gets one when created

    def save_model(self, request: HttpRequest, obj: RiskSettings, form, change: bool) -> None:
        changed = {name.removeprefix("operator_"): form.cleaned_data[name] for name in form.changed_data}
        if changed:
            risk.update_risk_settings(obj.user, request=request, actor=request.user, **changed)


class UserSettingForm(forms.ModelForm):
    class Meta:
        model = UserSetting
        fields = ["user", "key", "category", "is_encrypted", "value"]
        help_texts = {"value": "For an encrypted setting, a new value replaces the stored one; "
                               "leave empty to keep it."}


@admin.register(UserSetting)
class UserSettingAdmin(admin.ModelAdmin):
    form = UserSettingForm
    list_display = ["user", "key", "category", "is_encrypted", "shown_value", "updated_at"]
    list_filter = ["category", "is_encrypted", "key"]
    search_fields = ["key", "user__username"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]

    @admin.display(description="value")
    def shown_value(self, obj: UserSetting) -> str:
        return MASK if obj.is_encrypted else str(obj.value)

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is not None and obj.is_encrypted:
            obj.value = None  # the form never shows the secret
        return obj

    def save_model(self, request: HttpRequest, obj: UserSetting, form, change: bool) -> None:
        value = form.cleaned_data.get("value")
        if obj.is_encrypted and value is None and change:
            value = UserSetting.objects.get(pk=obj.pk).get_value()  # kept, not shown
        usersettings.set_setting(obj.user, obj.key, value, category=obj.category, encrypted=obj.is_encrypted,
                                 request=request, actor=request.user)
        obj.pk = UserSetting.objects.get(user=obj.user, key=obj.key).pk


# --- Activity log ---------------------------------------------------------------------------------

@admin.register(ActivityLog)
class ActivityLogAdmin(admin.ModelAdmin):
    list_display = ["created_at", "action", "user", "actor", "ip_address", "details"]
    list_filter = ["action", "created_at"]
    search_fields = ["user__username", "actor__username", "ip_address"]
    list_select_related = ["user", "actor"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# --- Second-factor devices, without their secrets -------------------------------------------------

if admin.site.is_registered(StaticDevice):
    admin.site.unregister(StaticDevice)


@admin.register(AuthenticatorDevice, StaticDevice)
class DeviceAdmin(admin.ModelAdmin):
    """Read-only: the TOTP seed and backup codes stay out of the admin. Reset via the user action."""

    list_display = ["user", "name", "confirmed", "created_at", "last_used_at"]
    list_filter = ["confirmed", "created_at"]
    search_fields = ["user__username", "user__email"]
    list_select_related = ["user"]
    fields = ["user", "name", "confirmed", "created_at", "last_used_at"]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the "reset second factor" user action removes devices, and logs it

