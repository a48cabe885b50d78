"""OpenAlgo's strategy-module answers (openalgo 2.0.x `strategy_api.py`), built from AlgoDesk's rows.

How the two models meet: an OpenAlgo *run* is one activation of a strategy on a broker; in AlgoDesk that
is a Deployment (the strategy on one trading account or the user's sandbox, started_at..stopped_at), so
`run_id` is a deployment id everywhere (status, start, stop, runs, orders, events). A *leg* is a mapped
symbol (StrategySymbol), so `leg_id` is its id. Orders are the deployments' orders; events are the risk
events, the signals (deliveries to the webhook) and the strategy's log.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Max

from strategies.models import (
    Deployment,
    DeploymentMode,
    DeploymentStatus,
    RiskAction,
    RiskEvent,
    Signal,
    SignalOrder,
    SignalStatus,
    Strategy,
    StrategyLog,
    StrategyStatus,
)
from trading.models import Action, Order
from trading.openalgo_api.shapes import OPENALGO_STATUS, money, qty

RUN_MODES = ("live", "sandbox")
STRATEGY_STATUSES = ("stopped", "running", "paused", "errored")
EVENT_SEVERITIES = ("info", "warn", "critical")
LOG_KINDS = ("run_started", "run_paused", "run_stopped", "close_all_manual", "close_leg_manual")
EVENT_KINDS = (*(f"risk_{t}" for t in ("max_loss", "max_profit", "trailing_stop")),
               *(f"signal_{s}" for s in SignalStatus.values), *LOG_KINDS, "log")
SIGNAL_STATUSES_OF_SEVERITY = {"critical": [SignalStatus.FAILED], "warn": [SignalStatus.REFUSED],
                               "info": [SignalStatus.ACCEPTED, SignalStatus.DUPLICATE]}
SEVERITY_OF_LEVEL = {"debug": "info", "info": "info", "warning": "warn", "error": "critical"}


def iso(at: dt.datetime | None) -> str | None:
    return at.isoformat() if at else None


def run_status(deployments: list[Deployment], strategy: Strategy) -> str:
    if strategy.status == StrategyStatus.ERROR:
        return "errored"
    states = {d.status for d in deployments}
    if DeploymentStatus.ACTIVE in states:
        return "running"
    return "paused" if DeploymentStatus.PAUSED in states else "stopped"


def run_dict(deployment: Deployment, *, stop_reason: str | None, peak: Decimal | None,
             webhook_event_id: int | None) -> dict[str, Any]:
    sandbox = deployment.mode == DeploymentMode.SANDBOX
    return {
        "id": deployment.pk,
        "mode": "sandbox" if sandbox else "live",
        "broker": "sandbox" if sandbox else deployment.account.broker,
        "account": None if sandbox else deployment.account.name,
        "user": deployment.user.username,
        "status": deployment.status,
        "started_at": iso(deployment.started_at),
        "stopped_at": iso(deployment.stopped_at),
        "stop_reason": stop_reason,
        "stop_requested_at": iso(deployment.stopped_at),
        "stop_requested_reason": stop_reason,
        "pnl_realized": money(deployment.realized_pnl),
        "pnl_unrealized": money(deployment.unrealized_pnl),
        "pnl_peak": money(peak) if peak is not None else None,
        "pnl_trough": None,
        "trigger_source": "webhook",
        "webhook_event_id": webhook_event_id,
        "resolved_expiries": {},
    }


def runs(deployments: list[Deployment]) -> list[dict[str, Any]]:
    """Run dicts for deployments, in their order: three queries whatever their number."""
    ids = [d.pk for d in deployments]
    last_risk = {}
    for event in RiskEvent.objects.filter(deployment_id__in=ids).order_by("created_at", "id"):
        last_risk[event.deployment_id] = event.rule_type
    peaks = dict(Deployment.objects.filter(pk__in=ids).annotate(peak=Max("risk_rules__peak_pnl"))
                 .values_list("pk", "peak"))
    last_signal = dict(SignalOrder.objects.filter(deployment_id__in=ids).values("deployment_id")
                       .annotate(last=Max("signal_id")).values_list("deployment_id", "last"))
    rows = []
    for d in deployments:
        reason = last_risk.get(d.pk) if d.status != DeploymentStatus.ACTIVE else None
        if reason is None and d.status == DeploymentStatus.STOPPED:
            reason = "manual"
        rows.append(run_dict(d, stop_reason=reason, peak=peaks.get(d.pk), webhook_event_id=last_signal.get(d.pk)))
    return rows


def leg_dict(leg) -> dict[str, Any]:
    return {"id": leg.pk, "exchange": leg.exchange, "symbol": leg.symbol, "quantity": qty(leg.quantity),
            "product": leg.product, "pricetype": leg.price_type}


def strategy_dict(strategy: Strategy, deployments: list[Deployment], *, with_legs: bool) -> dict[str, Any]:
    legs = list(strategy.symbols.all())
    products = {leg.product for leg in legs}
    current = [d for d in deployments if d.status != DeploymentStatus.STOPPED]
    finished = [d for d in deployments if d.status == DeploymentStatus.STOPPED]
    last = max(finished, key=lambda d: (d.stopped_at or d.started_at, d.pk), default=None)
    data = {
        "id": strategy.pk,
        "name": strategy.name,
        "strategy_kind": "signal",  # every AlgoDesk strategy is driven by its webhook's signals
        "platform": strategy.platform,
        "direction": strategy.trading_mode.lower(),
        "product": products.pop() if len(products) == 1 else ("MIS" if strategy.is_intraday else "CNC"),
        "exchange": strategy.exchange,
        "is_intraday": strategy.is_intraday,
        "is_active": strategy.is_active,
        "start_time": strategy.start_time.strftime("%H:%M"),
        "end_time": strategy.end_time.strftime("%H:%M"),
        "squareoff_time": strategy.squareoff_time.strftime("%H:%M"),
        "risk_rules": [{"run_id": d.pk, "rule_type": r.rule_type, "threshold": float(r.threshold), "unit": r.unit,
                        "fired": r.fired_at is not None} for d in deployments for r in d.risk_rules.all()],
        "live_enabled": any(d.mode == DeploymentMode.LIVE for d in deployments),
        "status": run_status(deployments, strategy),
        "current_run_id": max(current, key=lambda d: (d.started_at, d.pk)).pk if current else None,
        "last_finalized_run": runs([last])[0] if last else None,
        "created_at": iso(strategy.created_at),
    }
    if with_legs:
        data["legs"] = [leg_dict(leg) for leg in legs]
    return data


def leg_ids(strategy: Strategy) -> dict[tuple[str, str], int]:
    return {(leg.exchange, leg.symbol): leg.pk for leg in strategy.symbols.all()}


def order_rows(orders: list[Order], legs: dict[tuple[str, str], int]) -> list[dict[str, Any]]:
    """Orders oldest first; `kind` is "exit" when the order reduced its deployment's position."""
    nets: dict[tuple, Decimal] = {}
    rows = []
    for order in orders:
        ref = (order.deployment_id, order.exchange, order.symbol, order.product)
        before = nets.get(ref, Decimal("0"))
        signed = order.filled_quantity if order.action == Action.BUY else -order.filled_quantity
        intended = order.quantity if order.action == Action.BUY else -order.quantity
        reduces = before != 0 and (before > 0) != (intended > 0)
        nets[ref] = before + signed
        rows.append({
            "id": order.pk, "run_id": order.deployment_id, "leg_id": legs.get((order.exchange, order.symbol)),
            "kind": "exit" if reduces else "entry", "position_ref": ":".join(str(p) for p in ref),
            "broker_order_id": order.broker_order_id or None, "symbol": order.symbol, "exchange": order.exchange,
            "action": order.action, "qty": qty(order.quantity), "product": order.product,
            "pricetype": order.price_type, "price": money(order.price),
            "status": OPENALGO_STATUS.get(order.status, order.status.lower()), "placed_at": iso(order.placed_at),
            "filled_at": iso(order.executed_at), "avg_fill_price": money(order.average_price),
            "filled_qty": qty(order.filled_quantity), "reject_reason": order.rejection_reason or None,
        })
    return rows


def event_rows(strategy: Strategy, *, run_id: int | None, kind: str | None, severity: str | None,
               limit: int) -> list[dict[str, Any]]:
    """Risk events, signals and log lines of the strategy, newest first, at most `limit` in all."""
    rows: list[dict[str, Any]] = []
    if kind is None or kind.startswith("risk_"):
        events = RiskEvent.objects.filter(deployment__strategy=strategy)
        if run_id is not None:
            events = events.filter(deployment_id=run_id)
        if kind:
            events = events.filter(rule_type=kind.removeprefix("risk_"))
        if severity:
            events = {"critical": events.filter(action=RiskAction.FAILED), "info": events.none()}.get(
                severity, events.exclude(action=RiskAction.FAILED))
        for e in events.order_by("-created_at", "-id")[:limit]:
            rows.append({"id": e.pk, "source": "risk_event", "run_id": e.deployment_id, "strategy_id": strategy.pk,
                         "ts": e.created_at, "kind": f"risk_{e.rule_type}",
                         "severity": "critical" if e.action == RiskAction.FAILED else "warn", "leg_id": None,
                         "message": e.message, "payload": {"threshold": float(e.threshold),
                                                           "value_seen": float(e.value_seen), "action": e.action,
                                                           "order_ids": e.order_ids}})
    if kind is None or kind.startswith("signal_"):
        signals = Signal.objects.filter(strategy=strategy)
        if run_id is not None:
            signals = signals.filter(outcomes__deployment_id=run_id).distinct()
        if kind:
            signals = signals.filter(status=kind.removeprefix("signal_"))
        if severity:
            signals = signals.filter(status__in=SIGNAL_STATUSES_OF_SEVERITY[severity])
        for s in signals.order_by("-received_at", "-id")[:limit]:
            rows.append({"id": s.pk, "source": "signal", "run_id": run_id, "strategy_id": strategy.pk,
                         "ts": s.received_at, "kind": f"signal_{s.status}",
                         "severity": {"failed": "critical", "refused": "warn"}.get(s.status, "info"),
                         "leg_id": None, "message": s.reason or f"Signal {s.status}.",
                         "payload": {"legs": s.legs, "orders_placed": s.orders_placed,
                                     "orders_failed": s.orders_failed, "deployments": s.deployments}})
    if kind is None or kind in LOG_KINDS or kind == "log":
        logs = StrategyLog.objects.filter(strategy=strategy)
        if run_id is not None:
            logs = logs.filter(deployment_id=run_id)
        if kind == "log":
            logs = logs.exclude(data__kind__in=LOG_KINDS)
        elif kind:
            logs = logs.filter(data__kind=kind)
        if severity:
            logs = logs.filter(level__in=[lvl for lvl, sev in SEVERITY_OF_LEVEL.items() if sev == severity])
        for line in logs.order_by("-created_at", "-id")[:limit]:
            line_kind = line.data.get("kind") if isinstance(line.data, dict) else None
            rows.append({"id": line.pk, "source": "log", "run_id": line.deployment_id,
                         "strategy_id": strategy.pk, "ts": line.created_at,
                         "kind": line_kind if line_kind in LOG_KINDS else "log",
                         "severity": SEVERITY_OF_LEVEL.get(line.level, "info"), "leg_id": None,
                         "message": line.message, "payload": line.data or None})
    rows.sort(key=lambda r: (r["ts"], r["id"]), reverse=True)
    for row in rows[:limit]:
        row["ts"] = iso(row["ts"])
    return rows[:limit]
