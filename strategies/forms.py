"""The strategy form: the webhook secret is a write-only input, kept when left blank, never rendered."""
from __future__ import annotations

from typing import Any

from django import forms

from strategies.models import Strategy


class StrategyForm(forms.ModelForm):
    new_webhook_secret = forms.CharField(
        label="Webhook secret", required=False, strip=True, max_length=200,
        widget=forms.PasswordInput(render_value=False),
        help_text="Write-only. Deliveries must then carry the body's HMAC-SHA256 (hex) in X-AlgoDesk-Signature, "
                  "or this secret as `token` in the body.")
    clear_webhook_secret = forms.BooleanField(required=False, help_text="Remove the secret: the URL alone admits.")

    class Meta:
        model = Strategy
        fields = ["user", "name", "description", "platform", "is_active", "is_house", "parameters", "trading_mode",
                  "exchange", "is_intraday", "start_time", "end_time", "squareoff_time", "trading_days", "schedule"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        is_set = bool(self.instance.pk and self.instance.webhook_secret)
        self.fields["new_webhook_secret"].help_text += " Currently " + (
            "set; leave blank to keep it." if is_set else "not set.")

    def clean_new_webhook_secret(self) -> str:
        value = self.cleaned_data.get("new_webhook_secret", "")
        if value and len(value) < 16:
            raise forms.ValidationError("Use at least 16 characters.")
        return value

    def save(self, commit: bool = True) -> Strategy:
        strategy = super().save(commit=False)
        if self.cleaned_data.get("clear_webhook_secret"):
            strategy.webhook_secret = None
        elif self.cleaned_data.get("new_webhook_secret"):
            strategy.webhook_secret = self.cleaned_data["new_webhook_secret"]
        if commit:
            strategy.save()
            self.save_m2m()
        return strategy
