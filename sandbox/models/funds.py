"""A user's sandbox funds, and the ledger every change to them is written to."""
from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models

from core import numbers

ZERO = Decimal("0")
_money = {"max_digits": 18, "decimal_places": 2}

__all__ = ['FundsLedger', 'LedgerKind', 'SandboxFunds']


class SandboxFunds(models.Model):
    """One per user. Invariant: available + used_margin = starting_capital + realized_pnl.

    Available cash can go negative only through a loss larger than it (never by blocking margin).
    Used margin covers open orders, open positions and the cost of holdings (delivery is paid in
    full, so it stays blocked until sold). Rows change only under select_for_update in services.funds.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sandbox_funds")
    starting_capital = models.DecimalField(**_money)
    available = models.DecimalField(**_money)
    used_margin = models.DecimalField(default=ZERO, **_money)
    realized_pnl = models.DecimalField("realized P&L (all time)", default=ZERO, **_money)
    today_realized_pnl = models.DecimalField("realized P&L (today)", default=ZERO, **_money)
    today = models.DateField(help_text="The trading day (IST) today_realized_pnl belongs to.")
    unrealized_pnl = models.DecimalField("unrealized P&L", default=ZERO, **_money,
                                         help_text="As of the last snapshot; live values come from prices.")
    last_reset_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "sandbox funds"
        verbose_name_plural = "sandbox funds"
        constraints = [
            models.CheckConstraint(condition=models.Q(used_margin__gte=0), name="sandbox_funds_used_margin_gte_0"),
        ]

    def __str__(self) -> str:
        return f"Sandbox funds of {self.user}"


class LedgerKind(models.TextChoices):
    OPENING = "OPENING", "Opening capital"
    BLOCK = "BLOCK", "Margin blocked"
    RELEASE = "RELEASE", "Margin released"
    PNL = "PNL", "Realized P&L"
    RESET = "RESET", "Reset"


class FundsLedger(models.Model):
    """One change to a user's funds. `amount` moves money: BLOCK takes it from available into used
    margin, RELEASE returns it, PNL credits (or debits) available; OPENING and RESET set the
    capital. The *_after columns are the funds row right after the change, so any row reconciles."""

    # The user leads sandbox_ledger_user_id; holding is set on delivery rows only (a partial index).
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sandbox_ledger",
                             db_index=False)
    kind = models.CharField(max_length=8, choices=LedgerKind.choices)
    amount = models.DecimalField(**_money)
    order = models.ForeignKey("sandbox.SandboxOrder", on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="ledger")
    position = models.ForeignKey("sandbox.SandboxPosition", on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="ledger")
    holding = models.ForeignKey("sandbox.SandboxHolding", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="ledger", db_index=False)
    available_after = models.DecimalField(**_money)
    used_margin_after = models.DecimalField(**_money)
    realized_after = models.DecimalField(**_money)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "funds ledger entry"
        verbose_name_plural = "funds ledger"
        ordering = ["-id"]
        indexes = [
            # check_invariant() and the admin read one user's entries since the last reset.
            models.Index(fields=["user", "id"], name="sandbox_ledger_user_id"),
            models.Index(fields=["holding"], name="sandbox_ledger_holding", condition=models.Q(holding__isnull=False)),
            # Realized P&L by day over a range (analytics' P&L charts and /api/analytics/pnl/): only the PNL rows
            # (one per closing fill), so blocks and releases on the order path write no extra index.
            # PostgreSQL uses it; SQLite cannot match a partial index to a bound parameter (small installs).
            models.Index(fields=["created_at"], name="sandbox_ledger_pnl_created", condition=models.Q(kind="PNL")),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {numbers.money(self.amount)} ({self.user})"
