"""The trading-account form: credentials are write-only inputs, kept when left blank."""
from __future__ import annotations

from typing import Any

from django import forms

from brokers.adapters.registry import UnknownBroker, adapter_class, broker_names
from brokers.models import TradingAccount

FIELD_PREFIX = "credential_"


def credential_fields_by_broker() -> dict[str, tuple[str, ...]]:
    """Each registered broker's credential field names (brokers whose module fails to import: none)."""
    result = {}
    for name in broker_names():
        try:
            result[name] = tuple(adapter_class(name).credential_fields)
        except (UnknownBroker, ImportError):
            result[name] = ()
    return result


class TradingAccountForm(forms.ModelForm):
    """Shows one password-style input per credential field of any broker; values are never rendered.

    A blank input keeps the stored value; "clear credentials" removes them all. Only the chosen
    broker's fields are stored.
    """

    clear_credentials = forms.BooleanField(required=False, help_text="Remove every stored credential.")
    egress_proxy_url = forms.CharField(
        label="Egress proxy URL", required=False, strip=True, max_length=2048,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Or send this account's traffic through a proxy: http://, https://, socks5:// or "
                  "socks5h://host:port (stored encrypted, never shown).")
    clear_egress_proxy = forms.BooleanField(required=False, label="Clear egress proxy",
                                            help_text="Remove the stored proxy URL.")

    class Meta:
        model = TradingAccount
        fields = ["user", "name", "broker", "is_active", "priority", "pinned", "egress_source_address",
                  "egress_proxy_url"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.by_broker = credential_fields_by_broker()
        stored = (self.instance.credentials or {}) if self.instance.pk else {}
        if self.instance.pk and "egress_proxy_url" in self.fields:
            self.fields["egress_proxy_url"].help_text += (" Currently set; leave blank to keep it."
                                                          if self.instance.egress_proxy_url else " Currently not set.")
        for field_name, field in self.fields.items():
            if field_name.startswith(FIELD_PREFIX):
                is_set = stored.get(field_name.removeprefix(FIELD_PREFIX)) not in (None, "")
                field.help_text += " Currently " + ("set; leave blank to keep it." if is_set else "not set.")

    def merged_credentials(self) -> dict[str, Any]:
        broker = self.cleaned_data.get("broker")
        wanted = self.by_broker.get(broker, ())
        old = {} if self.cleaned_data.get("clear_credentials") else dict(self.instance.credentials or {})
        merged = {name: old[name] for name in wanted if old.get(name) not in (None, "")}
        for name in wanted:
            value = self.cleaned_data.get(FIELD_PREFIX + name)
            if value:
                merged[name] = value
        return merged

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        # Write-only like the credentials: blank keeps the stored proxy, the box clears it. The model's
        # clean() then checks the egress (errors name egress_source_address / egress_proxy_url).
        if cleaned.get("clear_egress_proxy"):
            # Set on the instance too: a form post without the input leaves the model's default alone.
            cleaned["egress_proxy_url"] = self.instance.egress_proxy_url = None
        elif not cleaned.get("egress_proxy_url"):
            cleaned["egress_proxy_url"] = self.instance.egress_proxy_url if self.instance.pk else None
        broker = cleaned.get("broker")
        if broker in self.by_broker:
            credentials = self.merged_credentials()
            try:
                problems = adapter_class(broker).validate_credentials(credentials)
            except ImportError as exc:
                self.add_error("broker", f"The {broker} adapter cannot be loaded: {exc}")
                return cleaned
            for name, problem in problems.items():
                field = FIELD_PREFIX + name
                self.add_error(field if field in self.fields else None, problem)
            self.instance.credentials = credentials
        return cleaned


def credential_inputs() -> dict[str, forms.CharField]:
    """One write-only input per credential name used by any registered broker."""
    users: dict[str, list[str]] = {}
    for broker, names in credential_fields_by_broker().items():
        for name in names:
            users.setdefault(name, []).append(broker)
    return {
        FIELD_PREFIX + name: forms.CharField(
            label=name, required=False, strip=True,
            widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
            help_text=f"Used by {', '.join(brokers)}.",
        )
        for name, brokers in sorted(users.items())
    }


def trading_account_form() -> type[TradingAccountForm]:
    """The form class with the credential inputs declared (the admin builds forms from declared fields)."""
    return type("TradingAccountCredentialsForm", (TradingAccountForm,), credential_inputs())
