"""Forms of the self-service pages."""
from __future__ import annotations

from django import forms

from accounts.models import OrderMode, RiskSettings
from accounts.services.risk import EDITABLE_FIELDS, SWITCHES, shown


class SecondFactorForm(forms.Form):
    code = forms.CharField(
        label="Code", max_length=32, strip=True,
        help_text="The six-digit code from your authenticator app, or one of your backup codes.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True, "inputmode": "text"}),
    )


class EnrollForm(forms.Form):
    code = forms.CharField(
        label="Code from the app", max_length=10, strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(max_length=64, help_text="To tell your keys apart, e.g. “tradingview”.")
    order_mode = forms.ChoiceField(choices=OrderMode.choices, initial=OrderMode.AUTO, label="Order mode")
    expires_days = forms.IntegerField(required=False, min_value=1, max_value=3650, label="Expires after (days)",
                                      help_text="Leave empty for a key that does not expire.")


class PasswordConfirmForm(forms.Form):
    password = forms.CharField(label="Your password", strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class RiskSettingsForm(forms.Form):
    """The user's own limits, shown with what the operator allows; the service refuses anything looser."""

    def __init__(self, data=None, *, row: RiskSettings) -> None:
        super().__init__(data)
        self.row = row
        for name in EDITABLE_FIELDS:
            model_field = RiskSettings._meta.get_field(name)
            ceiling = getattr(row, f"operator_{name}")
            about = model_field.help_text.removesuffix(" 0 = no limit.")
            if name in SWITCHES:
                field = model_field.formfield()
                field.disabled = not ceiling  # the operator has it off: nothing to choose
                allows = "Your operator allows it." if ceiling else "Off: your operator has not allowed it."
            else:
                field = model_field.formfield(min_value=0)
                allows = (f"Your operator allows at most {shown(ceiling)}; you may set less." if ceiling
                          else "Your operator sets no limit; 0 = no limit.")
            field.initial = getattr(row, name)
            field.help_text = f"{about} {allows}"
            self.fields[name] = field

    def changed_limits(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.changed_data if name in self.cleaned_data}


class AnalyzeModeForm(forms.Form):
    analyze_mode = forms.BooleanField(required=False, label="Analyze mode (paper trading in the sandbox)")
