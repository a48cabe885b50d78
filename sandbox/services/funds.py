"""Funds: every block, release and P&L credit changes the funds row and writes a ledger row, under
the funds row's lock. Callers lock funds first, then the order, then the position (one lock order
everywhere, so two transactions never wait on each other in a cycle)."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

from django.db import IntegrityError, models, transaction

from core import sql
from sandbox.models import (
    RESTING,
    FundsLedger,
    LedgerKind,
    SandboxFunds,
    SandboxHolding,
    SandboxOrder,
    SandboxPosition,
)
from sandbox.services.config import get_config
from sandbox.services.money import PAISA, ZERO, ist_date


class InsufficientFunds(Exception):
    def __init__(self, needed: Decimal, available: Decimal) -> None:
        super().__init__(f"Insufficient funds: margin required {needed}, available {available}")
        self.needed, self.available = needed, available


class InvariantBroken(AssertionError):
    """The funds row, its ledger and the margins held by the books disagree."""


def _open(user_id: int) -> SandboxFunds:
    capital = get_config().starting_capital
    funds = SandboxFunds.objects.create(user_id=user_id, starting_capital=capital, available=capital,
                                        today=ist_date())
    write_ledger(funds, LedgerKind.OPENING, capital, note="Opening capital")
    return funds


def get_funds(user_id: int) -> SandboxFunds:
    """The user's funds row, created with the configured capital on first use."""
    funds = SandboxFunds.objects.filter(user_id=user_id).first()
    if funds is None:
        try:
            with transaction.atomic():
                funds = _open(user_id)
        except IntegrityError:  # another request opened it first
            funds = SandboxFunds.objects.get(user_id=user_id)
    return funds


def lock_funds(user_id: int) -> SandboxFunds:
    """The funds row locked for update (call inside transaction.atomic). Rolls today's P&L over.

    Changes to it are staged in memory with their ledger rows and written by flush(): one UPDATE and
    one multi-row INSERT per transaction instead of two statements per change."""
    funds = sql.locked_row(SandboxFunds, user_id=user_id)
    if funds is None:
        get_funds(user_id)
        funds = SandboxFunds.objects.select_for_update().get(user_id=user_id)
    today = ist_date()
    if funds.today != today:
        funds.today, funds.today_realized_pnl = today, ZERO
        funds.save(update_fields=["today", "today_realized_pnl", "updated_at"])
    funds.pending = []
    return funds


@contextmanager
def locked_funds(user_id: int, *, savepoint: bool = True) -> Iterator[SandboxFunds]:
    """A transaction holding the user's funds lock; staged changes are flushed before it commits.

    savepoint=False joins a caller's transaction without a savepoint (two round trips fewer); an
    exception leaving the block then dooms the caller's whole transaction, so a caller passing it
    must let only real failures escape (place_order turns refusals into values inside the block)."""
    with transaction.atomic(savepoint=savepoint):
        funds = lock_funds(user_id)
        yield funds
        flush(funds)


FLUSHED_FIELDS = ("available", "used_margin", "realized_pnl", "today_realized_pnl", "updated_at")


def flush(funds: SandboxFunds) -> None:
    """Write the staged changes: the funds row's UPDATE and its ledger rows' multi-row INSERT."""
    sql.write(flush_operations(funds))


def flush_operations(funds: SandboxFunds) -> list[sql.Write]:
    """The staged changes as writes for core.sql.write() (the caller runs them); nothing stays staged."""
    if not funds.pending:
        return []
    ops = [sql.Update(funds, FLUSHED_FIELDS), sql.Insert(funds.pending)]
    funds.pending = []
    return ops


def checkpoint(funds: SandboxFunds) -> tuple:
    """The staged state, to return to when a savepoint inside the transaction rolls back."""
    return funds.available, funds.used_margin, funds.realized_pnl, funds.today_realized_pnl, len(funds.pending)


def restore(funds: SandboxFunds, state: tuple) -> None:
    funds.available, funds.used_margin, funds.realized_pnl, funds.today_realized_pnl, staged = state
    del funds.pending[staged:]


def write_ledger(funds: SandboxFunds, kind: str, amount: Decimal, *, order: SandboxOrder | None = None,
                 position: SandboxPosition | None = None, holding: SandboxHolding | None = None,
                 note: str = "") -> FundsLedger:
    """Write a ledger row now (opening and reset rows, written beside their own save)."""
    return FundsLedger.objects.create(**_entry(funds, kind, amount, order, position, holding, note))


def _entry(funds, kind, amount, order, position, holding, note) -> dict:
    return {"user_id": funds.user_id, "kind": kind, "amount": amount, "order": order, "position": position,
            "holding": holding, "available_after": funds.available, "used_margin_after": funds.used_margin,
            "realized_after": funds.realized_pnl, "note": note[:200]}


def _stage(funds: SandboxFunds, kind: str, amount: Decimal, *, order: SandboxOrder | None = None,
           position: SandboxPosition | None = None, holding: SandboxHolding | None = None, note: str = "") -> None:
    funds.pending.append(FundsLedger(**_entry(funds, kind, amount, order, position, holding, note)))


def block(funds: SandboxFunds, amount: Decimal, **refs) -> None:
    """Move `amount` from available cash into used margin, or raise InsufficientFunds."""
    if amount <= 0:
        return
    if amount > funds.available:
        raise InsufficientFunds(amount, funds.available)
    funds.available -= amount
    funds.used_margin += amount
    _stage(funds, LedgerKind.BLOCK, amount, **refs)


def release(funds: SandboxFunds, amount: Decimal, **refs) -> None:
    """Return `amount` of used margin to available cash."""
    if amount <= 0:
        return
    amount = min(amount, funds.used_margin)
    funds.available += amount
    funds.used_margin -= amount
    _stage(funds, LedgerKind.RELEASE, amount, **refs)


def credit_pnl(funds: SandboxFunds, amount: Decimal, **refs) -> None:
    """Credit (or debit, when negative) realized P&L to available cash.

    A leveraged loss can exceed the cash left; the balance then goes negative, as at a broker, and
    no new margin can be blocked until it is made good. Blocks never overdraw (see block())."""
    if amount == 0:
        return
    funds.available += amount
    funds.realized_pnl += amount
    funds.today_realized_pnl += amount
    _stage(funds, LedgerKind.PNL, amount, **refs)


def margin_held_by_books(user_id: int) -> Decimal:
    total = ZERO
    for model, extra in ((SandboxOrder, {"status__in": RESTING}), (SandboxPosition, {}), (SandboxHolding, {})):
        total += model.objects.filter(user_id=user_id, **extra).aggregate(
            s=models.Sum("margin_blocked"))["s"] or ZERO
    return total.quantize(PAISA)  # SQLite sums decimals in floating point


def check_invariant(user: int | object) -> SandboxFunds:
    """Reconcile a user's funds: the identity, the ledger since the last reset, and the books' margins.

    Raises InvariantBroken naming what disagrees; returns the funds row when all agree.
    """
    user_id = user if isinstance(user, int) else user.pk
    funds = get_funds(user_id)  # a sandbox never used is opened: it reconciles trivially
    problems = []
    if funds.available + funds.used_margin != funds.starting_capital + funds.realized_pnl:
        problems.append(f"available {funds.available} + used {funds.used_margin} != capital "
                        f"{funds.starting_capital} + realized {funds.realized_pnl}")
    if funds.used_margin < 0:
        problems.append(f"negative used margin {funds.used_margin}")
    anchor = (FundsLedger.objects.filter(user_id=user_id, kind__in=(LedgerKind.OPENING, LedgerKind.RESET))
              .order_by("-id").first())
    if anchor is None:
        problems.append("no opening ledger row")
    else:
        # Quantized: SQLite sums decimals in floating point (PostgreSQL's numeric sums are exact).
        sums = {kind: total.quantize(PAISA) for kind, total in
                FundsLedger.objects.filter(user_id=user_id, id__gt=anchor.id).values_list("kind")
                .annotate(s=models.Sum("amount")).values_list("kind", "s")}
        blocked, released = sums.get(LedgerKind.BLOCK, ZERO), sums.get(LedgerKind.RELEASE, ZERO)
        pnl = sums.get(LedgerKind.PNL, ZERO)
        if anchor.amount != funds.starting_capital:
            problems.append(f"ledger capital {anchor.amount} != starting capital {funds.starting_capital}")
        if blocked - released != funds.used_margin:
            problems.append(f"ledger blocks {blocked} - releases {released} != used margin {funds.used_margin}")
        if pnl != funds.realized_pnl:
            problems.append(f"ledger P&L {pnl} != realized {funds.realized_pnl}")
        if anchor.amount + pnl - blocked + released != funds.available:
            problems.append(f"ledger balance {anchor.amount + pnl - blocked + released} != available "
                            f"{funds.available}")
        last = FundsLedger.objects.filter(user_id=user_id).order_by("-id").first()
        if (last.available_after, last.used_margin_after, last.realized_after) != (
                funds.available, funds.used_margin, funds.realized_pnl):
            problems.append(f"last ledger row {last.pk} does not show the current balances")
    held = margin_held_by_books(user_id)
    if held != funds.used_margin:
        problems.append(f"orders, positions and holdings hold {held} but used margin is {funds.used_margin}")
    if problems:
        raise InvariantBroken(f"sandbox funds of user {user_id}: " + "; ".join(problems))
    return funds
