"""OpenAlgo's strategy module at /api/v1/strategy/<name>, as the openalgo 2.0.x client calls it: POST,
`apikey` and `strategy_id` in the body. What maps to what is in strategies/openalgo_api/shapes.py.

- A strategy that is not the caller's answers 404, exactly as one that does not exist.
- Reads (list, status, runs, orders, events) need READ; start, stop, closeall and closeleg need MANAGE
  (a semi-auto or read-only key gets 403, accounts.permissions).
- `mode` on start is required and exact: "live" or "sandbox" (no default, no case folding).
- start resumes the caller's own deployments of that mode (a sandbox one is created when there is none;
  live needs a deployment to a live account: 409 until there is one) and places nothing: entries come
  from signals. stop and closeall stop every running deployment, a house strategy's subscribers'
  included, and close their positions through the order pipeline; closeleg closes one mapped symbol.
"""
from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Capability
from strategies.models import Deployment, DeploymentMode, DeploymentStatus, LogLevel, Strategy, StrategyLog
from strategies.openalgo_api import shapes
from strategies.services import control, exits
from trading.models import Order, OrderSource, OrderStatus
from trading.openalgo_api.base import ApiError, OpenAlgoView
from trading.openalgo_api.shapes import qty

NOT_FOUND = "Strategy not found."
OPEN_STATES = {OrderStatus.PENDING, OrderStatus.UNKNOWN, OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED,
               OrderStatus.TRIGGER_PENDING}
MAX_ORDERS = 5000  # strategyorders has no limit parameter: the newest this many, oldest first


def positive_int(body: dict, field: str, *, required: bool = True, low: int = 1, high: int = 2**63 - 1,
                 default: int | None = None) -> int | None:
    """An id or a count: a JSON integer or a string of digits, within [low, high]; 400 naming the field."""
    value = body.get(field)
    if value is None:
        if required:
            raise ApiError(f"{field}: is required.")
        return default
    if isinstance(value, str) and value.strip().isdecimal() and len(value.strip()) <= 20:
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(f"{field}: must be a whole number.")
    if not low <= value <= high:
        raise ApiError(f"{field}: must be between {low} and {high}." if high < 2**63 - 1
                       else f"{field}: must be a positive whole number.")
    return value


def choice(body: dict, field: str, allowed: tuple[str, ...]) -> str | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, str) or value not in allowed:
        raise ApiError(f"{field}: must be one of {', '.join(allowed)}.")
    return value


class StrategyView(OpenAlgoView):
    """The caller's strategy named by `strategy_id`, or 404 (another user's answers the same)."""

    def post(self, request: Request) -> Response:
        body = request.data
        if not isinstance(body, dict):
            raise ApiError("The request body must be a JSON object.")
        return self.handle(request, body)

    def strategy(self, request: Request, body: dict) -> Strategy:
        strategy_id = positive_int(body, "strategy_id")
        strategy = Strategy.objects.filter(pk=strategy_id, user=request.user).first()
        if strategy is None:
            raise ApiError(NOT_FOUND, 404)
        return strategy

    def deployments(self, strategy: Strategy) -> list[Deployment]:
        return list(strategy.deployments.select_related("account", "user", "strategy")
                    .prefetch_related("risk_rules").order_by("-started_at", "-id"))


class ListView(StrategyView):
    def handle(self, request: Request, body: dict) -> Response:
        status = choice(body, "status", shapes.STRATEGY_STATUSES)
        q = body.get("q")
        if q is not None and (not isinstance(q, str) or len(q) > 100):
            raise ApiError("q: must be text of at most 100 characters.")
        strategies = (Strategy.objects.filter(user=request.user).order_by("-created_at", "-id")
                      .prefetch_related("symbols", Prefetch(
                          "deployments", queryset=Deployment.objects.select_related("account", "user")
                          .prefetch_related("risk_rules"))))
        if q:
            strategies = strategies.filter(name__icontains=q)
        data = [shapes.strategy_dict(s, list(s.deployments.all()), with_legs=False) for s in strategies]
        if status:
            data = [row for row in data if row["status"] == status]
        return self.success(request, data=data)


class StatusView(StrategyView):
    def handle(self, request: Request, body: dict) -> Response:
        strategy = self.strategy(request, body)
        deployments = self.deployments(strategy)
        data = shapes.strategy_dict(strategy, deployments, with_legs=True)
        current = next((d for d in deployments if d.pk == data["current_run_id"]), None)
        return self.success(request, data=data, run=shapes.runs([current])[0] if current else None)


class StartView(StrategyView):
    capability = Capability.MANAGE

    def handle(self, request: Request, body: dict) -> Response:
        if body.get("mode") is None:
            raise ApiError('mode: is required: "live" or "sandbox".')
        mode = body["mode"]
        if not isinstance(mode, str) or mode not in shapes.RUN_MODES:
            raise ApiError('mode: must be exactly "live" or "sandbox".')
        strategy = self.strategy(request, body)
        if not strategy.is_active:
            raise ApiError("Strategy is inactive; activate it before starting it.", 409)
        own = Deployment.objects.filter(strategy=strategy, user=request.user, mode=mode).order_by("pk")
        candidates = list(own.exclude(status=DeploymentStatus.ACTIVE))
        if not candidates and mode == DeploymentMode.SANDBOX and not own.exists():
            try:
                with transaction.atomic():
                    candidates = [Deployment.objects.create(strategy=strategy, user=request.user,
                                                            mode=DeploymentMode.SANDBOX,
                                                            status=DeploymentStatus.STOPPED)]
            except IntegrityError:  # a concurrent start made it: that one runs
                candidates = []
        if not candidates:
            if mode == DeploymentMode.LIVE and not own.exists():
                raise ApiError("Live trading is not enabled for this strategy: deploy it to a live trading "
                               "account first.", 409)
            raise ApiError(f"Strategy is already running in {mode} mode.", 409)
        started = []
        for deployment in candidates:
            try:
                started.append(control.start(deployment, by=" through the API"))
            except control.DeploymentConflict:
                continue  # started meanwhile by another request
        if not started:
            raise ApiError(f"Strategy is already running in {mode} mode.", 409)
        return self.success(request, run_id=started[0].pk, mode=mode, legs=[],
                            runs=[d.pk for d in started],
                            message="Started: entries are placed by the strategy's signals.")


def exit_rows(closings: list[exits.Closing], legs: dict[tuple[str, str], int]) -> list[dict[str, Any]]:
    rows = []
    for closing in closings:
        d = closing.deployment
        owner = d.account.name if d.account_id else "sandbox"
        if closing.error:
            rows.append({"leg_id": None, "ok": False, "position_ref": None, "exit_owner": owner, "run_id": d.pk,
                         "orderid": None, "error": closing.error})
        for e in closing.exits:
            rows.append({"leg_id": legs.get((e.exchange, e.symbol)), "ok": e.ok,
                         "position_ref": f"{d.pk}:{e.exchange}:{e.symbol}:{e.product}", "exit_owner": owner,
                         "run_id": d.pk, "quantity": qty(e.quantity),
                         "orderid": e.order.broker_order_id if e.order else None, "error": e.error or None})
    return rows


def pending(closings: list[exits.Closing]) -> bool:
    """Exits accepted but not yet filled, or refused and still to do: not proof of flatness."""
    return any(c.failed or any(e.order is not None and e.order.status in OPEN_STATES for e in c.exits)
               for c in closings)


class StopView(StrategyView):
    capability = Capability.MANAGE
    log_kind: str | None = None

    def handle(self, request: Request, body: dict) -> Response:
        strategy = self.strategy(request, body)
        running = [d for d in self.deployments(strategy) if d.status in control.RUNNING]
        if not running:
            raise ApiError("Strategy is not running.", 409, stop_pending=False)
        if self.log_kind:
            StrategyLog.objects.create(strategy=strategy, level=LogLevel.WARNING, data={"kind": self.log_kind},
                                       message=f"Close-all requested by {request.user.username} through the API.")
        stopped = []
        for deployment in running:
            try:
                stopped.append(control.stop(deployment, by=" through the API"))
            except control.DeploymentConflict:
                continue
        closings = [exits.close_deployment(d, source=OrderSource.API) for d in stopped]
        answer = {"run_id": running[0].pk, "stop_pending": pending(closings),
                  "exits": exit_rows(closings, shapes.leg_ids(strategy))}
        if any(c.failed for c in closings):
            raise ApiError("Stopped, but some exits were refused; retry the stop.", 409, **answer)
        return self.success(request, **answer)


class CloseAllView(StopView):
    log_kind = "close_all_manual"


class CloseLegView(StrategyView):
    capability = Capability.MANAGE

    def handle(self, request: Request, body: dict) -> Response:
        strategy = self.strategy(request, body)
        leg_id = positive_int(body, "leg_id")
        leg = strategy.symbols.filter(pk=leg_id).first()
        running = [d for d in self.deployments(strategy) if d.status in control.RUNNING]
        if leg is None or not running:
            raise ApiError(f"leg_id {leg_id} names no open leg of this strategy.", 409)
        closings = [exits.close_deployment(d, only=(leg.exchange, leg.symbol, leg.product), source=OrderSource.API)
                    for d in running]
        if not any(c.exits or c.error for c in closings):
            raise ApiError(f"leg_id {leg_id} has no open position.", 409)
        StrategyLog.objects.create(strategy=strategy, level=LogLevel.WARNING, data={"kind": "close_leg_manual",
                                                                                     "leg_id": leg_id},
                                   message=f"Leg {leg.exchange}:{leg.symbol} closed by {request.user.username}.")
        answer = {"run_id": running[0].pk, "leg_id": leg_id, "run_stopped": False,
                  "exits": exit_rows(closings, shapes.leg_ids(strategy))}
        if any(c.failed for c in closings):
            raise ApiError("Some exits of the leg were refused; it stays open and can be retried.", 409, **answer)
        return self.success(request, **answer)


class RunsView(StrategyView):
    def handle(self, request: Request, body: dict) -> Response:
        strategy = self.strategy(request, body)
        limit = positive_int(body, "limit", required=False, high=500, default=100)
        return self.success(request, data=shapes.runs(self.deployments(strategy)[:limit]))


class OrdersView(StrategyView):
    def handle(self, request: Request, body: dict) -> Response:
        strategy = self.strategy(request, body)
        run_id = positive_int(body, "run_id", required=False)
        orders = Order.objects.filter(deployment__strategy=strategy)
        if run_id is not None:
            orders = orders.filter(deployment_id=run_id)
        newest = list(orders.order_by("-id")[:MAX_ORDERS])
        newest.reverse()
        return self.success(request, data=shapes.order_rows(newest, shapes.leg_ids(strategy)))


class EventsView(StrategyView):
    def handle(self, request: Request, body: dict) -> Response:
        strategy = self.strategy(request, body)
        run_id = positive_int(body, "run_id", required=False)
        kind = choice(body, "kind", shapes.EVENT_KINDS)
        severity = choice(body, "severity", shapes.EVENT_SEVERITIES)
        limit = positive_int(body, "limit", required=False, high=1000, default=500)
        return self.success(request, data=shapes.event_rows(strategy, run_id=run_id, kind=kind, severity=severity,
                                                            limit=limit))


# The client posts to close_all and close_leg; the spellings (closeall, closeleg) answer too.
urlpatterns = [
    path("list", ListView.as_view()),
    path("status", StatusView.as_view()),
    path("start", StartView.as_view()),
    path("stop", StopView.as_view()),
    path("close_all", CloseAllView.as_view()),
    path("closeall", CloseAllView.as_view()),
    path("close_leg", CloseLegView.as_view()),
    path("closeleg", CloseLegView.as_view()),
    path("runs", RunsView.as_view()),
    path("orders", OrdersView.as_view()),
    path("events", EventsView.as_view()),
]
urlpatterns += [path(f"{p.pattern}/", p.callback) for p in list(urlpatterns)]  # a trailing slash is optional
