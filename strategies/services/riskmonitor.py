"""The risk monitor: active deployments' armed risk rules against their P&L, every few seconds.

Each run takes at most STRATEGY_RISK_BATCH deployments, resuming after the last one the previous run
saw (a cursor in the shared cache), so the work per run is bounded whatever the number of deployments
and every deployment is reached in turn. Per run: one query for the batch, one for their rules, one
grouped query for their fills and one price read.

A rule fires once and only once: the firing run claims the rule (fired_at) and pauses the deployment
(active -> paused) with two conditional updates in one transaction; a concurrent run, or a second rule
of the same deployment, loses one of them and does nothing. The exits are placed after the commit (no
network call inside a transaction) with idempotency keys derived from the RiskEvent, so a crash and a
retry place each exit once: a firing cut off between its commit and its exits is finished by a later run.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Prefetch, Q
from django.utils import timezone

from strategies.models import (
    Deployment,
    DeploymentStatus,
    LogLevel,
    RiskAction,
    RiskEvent,
    RiskRule,
    RiskRuleType,
    StrategyLog,
    TrailUnit,
)
from strategies.services import exits
from strategies.services.pnl import DeploymentPnl, pnl_of

CURSOR_KEY = "strategies:risk-monitor:cursor"
UNFINISHED_AFTER_SECONDS = 60  # a firing's closing takes seconds at most; older and unclosed, it was cut off
ARMED = Q(is_active=True, fired_at__isnull=True)
ZERO = Decimal("0")


@dataclass
class SweepSummary:
    finished: int = 0
    checked: int = 0
    fired: int = 0
    unpriced: int = 0

    def __str__(self) -> str:
        return (f"strategies risk monitor: {self.checked} deployment(s) checked, {self.fired} rule(s) fired, "
                f"{self.unpriced} without a price" + (f", {self.finished} unfinished firing(s) closed"
                                                       if self.finished else ""))


def breached(rule: RiskRule, pnl: Decimal, peak: Decimal, open_quantity: Decimal) -> bool:
    """Whether the rule's threshold is crossed at this P&L, given the best P&L reached (`peak`).

    A trailing stop trails only a profit: it is armed once the best P&L is above zero (below that, the
    max-loss rule is the one that protects). It fires when P&L has fallen from the best by the threshold:
    an amount, a percent of the best, or points (per unit of the open quantity)."""
    threshold = rule.threshold
    if rule.rule_type == RiskRuleType.MAX_LOSS:
        return pnl <= -threshold
    if rule.rule_type == RiskRuleType.MAX_PROFIT:
        return pnl >= threshold
    if peak <= 0:
        return False
    drop = peak - pnl
    if rule.unit == TrailUnit.PERCENT:
        return drop * 100 >= peak * threshold
    if rule.unit == TrailUnit.POINTS:
        return open_quantity > 0 and drop >= threshold * open_quantity
    return drop >= threshold


def next_batch(size: int) -> list[int]:
    """The next `size` deployment ids to check, after the cursor, wrapping around to the start."""
    watched = (Deployment.objects.filter(status=DeploymentStatus.ACTIVE)
               .filter(pk__in=RiskRule.objects.filter(ARMED).values("deployment_id")).order_by("pk"))
    cursor = cache.get(CURSOR_KEY) or 0
    ids = list(watched.filter(pk__gt=cursor).values_list("pk", flat=True)[:size])
    if len(ids) < size and cursor:
        ids += list(watched.filter(pk__lte=cursor).values_list("pk", flat=True)[:size - len(ids)])
    cache.set(CURSOR_KEY, ids[-1] if ids else 0, None)
    return ids


def finish_unfinished(limit: int = 10) -> int:
    """Firings whose closing never ran (the process died after the commit): still the provisional action
    with no order recorded, past UNFINISHED_AFTER_SECONDS (an in-flight firing is younger). Finishing one
    again is safe: its exits' idempotency keys come from the event, so none is placed twice."""
    stale = timezone.now() - dt.timedelta(seconds=UNFINISHED_AFTER_SECONDS)
    events = list(RiskEvent.objects.filter(action=RiskAction.CLOSED_AND_PAUSED, order_ids=[],
                                           created_at__lt=stale).order_by("pk")[:limit])
    return sum(finish(event) is not None for event in events)


def sweep(batch: int | None = None) -> SweepSummary:
    summary = SweepSummary(finished=finish_unfinished())
    ids = next_batch(batch or settings.STRATEGY_RISK_BATCH)
    if not ids:
        return summary
    # Only what the check reads: a firing re-reads its deployment whole (firing is rare, checking is not).
    deployments = list(Deployment.objects.filter(pk__in=ids).only("id", "status", "realized_pnl", "unrealized_pnl")
                       .prefetch_related(Prefetch("risk_rules", queryset=RiskRule.objects.filter(ARMED),
                                                  to_attr="armed_rules")))
    figures = pnl_of(ids)
    changed = []
    for deployment in deployments:
        summary.checked += 1
        pnl = figures[deployment.pk]
        if pnl.total is None:
            summary.unpriced += 1
            continue
        if (deployment.realized_pnl, deployment.unrealized_pnl) != (pnl.realized, pnl.unrealized):
            deployment.realized_pnl, deployment.unrealized_pnl = pnl.realized, pnl.unrealized
            changed.append(deployment)
        summary.fired += check(deployment, deployment.armed_rules, pnl)
    if changed:
        Deployment.objects.bulk_update(changed, ["realized_pnl", "unrealized_pnl"])
    return summary


def check(deployment: Deployment, rules: list[RiskRule], pnl: DeploymentPnl) -> int:
    """Raise each rule's peak to this P&L and fire the first rule breached. Returns 1 if one fired."""
    total = pnl.total
    for rule in rules:
        if total > rule.peak_pnl:  # the best P&L reached only rises, whichever run saw it
            RiskRule.objects.filter(pk=rule.pk, peak_pnl__lt=total).update(peak_pnl=total)
            rule.peak_pnl = total
    for rule in rules:
        if breached(rule, total, rule.peak_pnl, pnl.open_quantity):
            return 1 if fire(deployment, rule, total) is not None else 0
    return 0


def fire(deployment: Deployment, rule: RiskRule, value_seen: Decimal) -> RiskEvent | None:
    """Claim the rule and pause the deployment, record the event, then close the positions. None when
    another run (or another rule) got there first: then nothing is done here."""
    now = timezone.now()
    with transaction.atomic():
        if not RiskRule.objects.filter(ARMED, pk=rule.pk).update(fired_at=now):
            return None
        if not Deployment.objects.filter(pk=deployment.pk, status=DeploymentStatus.ACTIVE).update(
                status=DeploymentStatus.PAUSED, updated_at=now):
            transaction.set_rollback(True)  # paused meanwhile (by hand, or another rule): this one stays armed
            return None
        message = (f"{rule.get_rule_type_display()} {rule.threshold.normalize():f} ({rule.get_unit_display()}) "
                   f"fired at P&L {value_seen}" + (f" (best {rule.peak_pnl})" if rule.rule_type ==
                                                   RiskRuleType.TRAILING_STOP else ""))
        event = RiskEvent.objects.create(deployment=deployment, rule=rule, rule_type=rule.rule_type,
                                         threshold=rule.threshold, value_seen=value_seen,
                                         action=RiskAction.CLOSED_AND_PAUSED, message=message, created_at=now)
    return finish(event) or event


def finish_claim_key(event_id: int) -> str:
    return f"strategies:risk-monitor:finishing:{event_id}"


def finish(event: RiskEvent) -> RiskEvent | None:
    """Close the positions of a fired rule's deployment and record how it went on the event. One process
    at a time per event (a claim in the shared cache): None when another holds it."""
    claim = finish_claim_key(event.pk)
    if not cache.add(claim, 1, UNFINISHED_AFTER_SECONDS * 5):
        return None
    try:
        return _finish(event)
    finally:
        cache.delete(claim)


def _finish(event: RiskEvent) -> RiskEvent:
    deployment = Deployment.objects.select_related("strategy", "user", "account").get(pk=event.deployment_id)
    closing = exits.close_deployment(deployment, occasion=f"risk-event-{event.pk}")
    if closing.failed:
        event.action = RiskAction.FAILED
        failures = [closing.error] if closing.error else [f"{e.exchange}:{e.symbol}: {e.error}"
                                                          for e in closing.exits if not e.ok]
        event.message += "; closing failed: " + "; ".join(failures)
    elif not closing.exits:
        event.action = RiskAction.PAUSED
    event.order_ids = closing.order_ids
    event.save(update_fields=["action", "order_ids", "message"])
    StrategyLog.objects.create(
        strategy=deployment.strategy, deployment=deployment,
        level=LogLevel.ERROR if event.action == RiskAction.FAILED else LogLevel.WARNING,
        message=f"Risk rule fired on deployment {deployment.pk}: {event.message}"[:500],
        data={"risk_event": event.pk, "orders": event.order_ids, "action": event.action})
    return event
