"""Forms of the self-service pages."""
from __future__ import annotations

from django import forms

from accounts.models import OrderMode, RiskSettings
from accounts.services.risk import EDITABLE_FIELDS


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


class RiskSettingsForm(forms.ModelForm):
    class Meta:
        model = RiskSettings
        fields = EDITABLE_FIELDS


class AnalyzeModeForm(forms.Form):
    analyze_mode = forms.BooleanField(required=False, label="Analyze mode (paper trading in the sandbox)")
