"""Brokers admin: trading accounts (credentials write-only), the instrument master, sockets, failovers.

Actions call the same services as the rest of the platform (make_primary, check_connection).
Credentials are never rendered: the list shows which keys are set, the form takes new values only.
"""
from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from brokers.forms import credential_inputs, trading_account_form
from brokers.models import BrokerToken, FailoverEvent, Instrument, TradingAccount, WebSocketConnection
from brokers.services import accounts as account_services
from brokers.services import health
from core.numbers import NumbersAdminMixin

MAX_PINGS = 20


@admin.register(TradingAccount)
class TradingAccountAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "broker", "is_primary", "is_active", "priority", "pinned", "connection_status",
                    "last_connected_at", "egress", "credentials_set"]
    list_filter = ["broker", "connection_status", "is_primary", "is_active", "pinned"]
    search_fields = ["name", "user__username", "user__email"]
    autocomplete_fields = ["user"]
    list_select_related = ["user", "standing_in_for"]
    ordering = ["user__username", "priority", "name"]
    readonly_fields = ["is_primary", "standing_in_for", "credentials_set", "connection_status", "last_connected_at",
                       "last_error", "consecutive_failures", "consecutive_successes", "created_at", "updated_at"]
    actions = ["make_primary", "test_connection", "pin", "unpin"]

    def get_form(self, request: HttpRequest, obj: TradingAccount | None = None, change: bool = False, **kwargs):
        # Built per request: the credential inputs follow the registered brokers (settings).
        kwargs["form"] = trading_account_form()
        return super().get_form(request, obj, change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: TradingAccount | None = None):
        return [
            (None, {"fields": ["user", "name", "broker", "is_active", "priority", "is_primary"]}),
            ("Credentials (write-only)", {"fields": ["credentials_set", *credential_inputs(), "clear_credentials"]}),
            ("Egress (where this account's traffic leaves from)",
             {"fields": ["egress_source_address", "egress_proxy_url", "clear_egress_proxy"]}),
            ("Connection and failover", {"fields": ["connection_status", "last_connected_at", "last_error",
                                                    "consecutive_failures", "consecutive_successes", "pinned",
                                                    "standing_in_for"]}),
            ("Record", {"fields": ["created_at", "updated_at"]}),
        ]

    @admin.display(description="credentials set")
    def credentials_set(self, obj: TradingAccount) -> str:
        return ", ".join(obj.credential_keys) or "—"

    @admin.display(description="egress")
    def egress(self, obj: TradingAccount) -> str:
        return obj.egress.describe() if obj.egress else "—"

    def save_model(self, request: HttpRequest, obj: TradingAccount, form, change: bool) -> None:
        # A change of the pin goes through the service, which writes it to the user's activity log.
        wanted = obj.pinned
        repin = change and "pinned" in form.changed_data
        if repin:
            obj.pinned = form.initial["pinned"]
        super().save_model(request, obj, form, change)
        if repin:
            account_services.set_pinned(obj, wanted, request=request, actor=request.user)

    @admin.action(description="Pin: opt the selected accounts out of automatic failover")
    def pin(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_pinned(request, queryset, True)

    @admin.action(description="Unpin: let automatic failover move the selected accounts")
    def unpin(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_pinned(request, queryset, False)

    def _set_pinned(self, request: HttpRequest, queryset: QuerySet, pinned: bool) -> None:
        accounts = list(queryset.select_related("user"))
        for account in accounts:
            account_services.set_pinned(account, pinned, request=request, actor=request.user)
        self.message_user(request, f"{len(accounts)} account(s) {'pinned' if pinned else 'unpinned'}.")

    @admin.action(description="Make the selected account its user's primary")
    def make_primary(self, request: HttpRequest, queryset: QuerySet) -> None:
        accounts = list(queryset.select_related("user"))
        if len({a.user_id for a in accounts}) != len(accounts):
            self.message_user(request, "Select at most one account per user: a user has one primary.",
                              messages.ERROR)
            return
        for account in accounts:
            try:
                account_services.make_primary(account)
            except account_services.AccountError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, f"{account.name} is now {account.user}'s primary account.")

    @admin.action(description="Test connection (ping the broker)")
    def test_connection(self, request: HttpRequest, queryset: QuerySet) -> None:
        # Pings run one after another inside this request (each bounded by the OpenAlgo timeouts).
        selected = list(queryset.select_related("user")[:MAX_PINGS + 1])
        if len(selected) > MAX_PINGS:
            self.message_user(request, f"Testing the first {MAX_PINGS} selected accounts only.", messages.WARNING)
        for account in selected[:MAX_PINGS]:
            ok, message = health.check_connection(account)
            self.message_user(request, f"{account.name}: {message}", messages.SUCCESS if ok else messages.ERROR)


class BrokerTokenInline(admin.TabularInline):
    model = BrokerToken
    extra = 0
    fields = ["broker", "token", "broker_symbol", "broker_exchange"]


@admin.register(Instrument)
class InstrumentAdmin(NumbersAdminMixin, admin.ModelAdmin):
    list_display = ["symbol", "exchange", "name", "instrument_type", "expiry", "strike", "lot_size", "tick_size",
                    "freeze_qty"]
    list_filter = ["exchange", "instrument_type"]
    search_fields = ["^symbol", "name", "=underlying"]
    date_hierarchy = "expiry"
    ordering = ["exchange", "symbol"]
    show_full_result_count = False
    readonly_fields = ["created_at", "updated_at"]
    inlines = [BrokerTokenInline]


@admin.register(BrokerToken)
class BrokerTokenAdmin(admin.ModelAdmin):
    list_display = ["instrument", "broker", "token", "broker_symbol", "broker_exchange"]
    list_filter = ["broker", "instrument__exchange"]
    search_fields = ["=token", "broker_symbol", "^instrument__symbol"]
    autocomplete_fields = ["instrument"]
    list_select_related = ["instrument"]
    show_full_result_count = False


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by the platform's jobs: operators look, they do not edit."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(WebSocketConnection)
class WebSocketConnectionAdmin(ReadOnlyAdmin):
    list_display = ["connection_id", "account", "status", "connected_at", "disconnected_at", "messages_received",
                    "last_heartbeat"]
    list_filter = ["status", "account__broker"]
    search_fields = ["=connection_id", "account__name", "account__user__username"]
    autocomplete_fields = ["account"]
    list_select_related = ["account", "account__user"]
    show_full_result_count = False


@admin.register(FailoverEvent)
class FailoverEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "user", "kind", "from_account", "to_account", "success", "reason", "error"]
    list_filter = ["kind", "success", "created_at"]
    search_fields = ["user__username", "from_account__name", "to_account__name", "reason"]
    autocomplete_fields = ["user", "from_account", "to_account"]
    list_select_related = ["user", "from_account", "to_account"]
    date_hierarchy = "created_at"
    show_full_result_count = False
