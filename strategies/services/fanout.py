"""The fan-out: one accepted signal becomes one order per leg on every active deployment of its strategy.

Each order goes through the order pipeline (trading.services.handlers.run, source STRATEGY) as its
deployment's user: that user's risk limits, kill switch and analyze mode, that user's books. It is
routed to the deployment's trading account (mode live) or its user's sandbox (mode sandbox, or a user in
analyze mode), with the deployment's quantity multiplier, and carries the deployment.

Exactly once: each order's client_order_id is derived from (signal, deployment, leg) and the pipeline
places a client_order_id once per user; a leg whose order or outcome already exists is not computed
again. So a retried task, a redelivered message or two workers on the same signal place one order per
deployment and leg. Each outcome (order placed, nothing to do, or the error) is a SignalOrder row; each
failure is also a StrategyLog line. One failing account does not stop the others.

Deployments are taken per user (a user's orders serialize on their risk lock anyway) in batches of up to
STRATEGY_FANOUT_BATCH deployments: the first batch runs in the fan-out task, the others as
place_batch tasks that any worker may take. The last batch to finish completes the signal (counts,
processed_at, status), whichever it is: completion is recomputed from the outcome rows, so it is
idempotent too.

The route is exits.route_of() (the one rule of where a deployment's orders go); deployment_nets() here
reads many deployments' positions in one query (exits.deployment_nets reads one on one route).
"""
from __future__ import annotations

import logging
from collections import defaultdict
from decimal import ROUND_DOWN, Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.utils import timezone

from brokers.models import Exchange
from brokers.services.instruments import get_instrument
from strategies.models import (
    Deployment,
    DeploymentStatus,
    LogLevel,
    Signal,
    SignalOrder,
    SignalOrderStatus,
    SignalStatus,
    Strategy,
    StrategyLog,
)
from strategies.services.exits import in_sandbox, route_of
from strategies.services.legs import Intent, Leg
from trading.models import Action, Order, OrderSource, OrderStatus, PendingApiType
from trading.services import handlers
from trading.services.errors import TradingError
from trading.services.pipeline import INTERNAL_ERROR, Route

log = logging.getLogger(__name__)
ZERO = Decimal("0")
Key = tuple[str, str, str]  # (exchange, symbol, product)


def client_order_id(signal_id: int, deployment_id: int, leg: int) -> str:
    """The idempotency key of one leg's order on one deployment: the same on every retry."""
    return f"sig{signal_id}-dep{deployment_id}-leg{leg}"


def deployment_nets(deployment_ids: list[int]) -> dict[tuple[int, bool], dict[Key, Decimal]]:
    """Each deployment's net filled position per (exchange, symbol, product), per route: keyed by
    (deployment id, is_analyze), since a live deployment whose owner turned analyze mode on trades in the
    sandbox, and a position in one must never be exited in the other (one query)."""
    nets: dict[tuple[int, bool], dict[Key, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    rows = (Order.objects.filter(deployment_id__in=deployment_ids, filled_quantity__gt=0)
            .values_list("deployment_id", "is_analyze", "exchange", "symbol", "product", "action")
            .annotate(filled=Sum("filled_quantity")).order_by())
    for deployment_id, analyze, exchange, symbol, product, action, filled in rows:
        nets[(deployment_id, analyze)][(exchange, symbol, product)] += filled if action == Action.BUY else -filled
    return nets


def scaled(quantity: Decimal, multiplier: Decimal, exchange: str, symbol: str) -> Decimal:
    """quantity x multiplier, rounded down to whole lots (CRYPTO: to six decimal places); sign kept."""
    raw = abs(quantity) * multiplier
    if exchange == Exchange.CRYPTO:
        result = raw.quantize(Decimal("0.000001"), rounding=ROUND_DOWN)
    else:
        instrument = get_instrument(exchange, symbol)
        lot = Decimal(instrument.lot_size if instrument else 1)
        result = (raw // lot) * lot
    return -result if quantity < 0 else result


def order_for(leg: Leg, deployment: Deployment, net: Decimal) -> tuple[str, Decimal] | str:
    """(action, quantity) of the order that carries out `leg` on a deployment whose net position in the
    leg's instrument is `net`; or, when there is nothing to do, why."""
    m = deployment.quantity_multiplier
    if leg.intent in (Intent.ENTER_LONG, Intent.ENTER_SHORT):
        quantity = scaled(leg.quantity, m, leg.exchange, leg.symbol)
        if quantity <= 0:
            return f"{leg.quantity.normalize():f} x multiplier {m.normalize():f} is less than one lot of {leg.symbol}."
        return (Action.BUY if leg.intent == Intent.ENTER_LONG else Action.SELL), quantity
    if leg.intent == Intent.EXIT_LONG:
        return (Action.SELL, net) if net > 0 else "No long position to exit."
    if leg.intent == Intent.EXIT_SHORT:
        return (Action.BUY, -net) if net < 0 else "No short position to exit."
    target = scaled(leg.target, m, leg.exchange, leg.symbol)
    if target == net:
        return f"Already at the target position {target.normalize():f}."
    return (Action.BUY, target - net) if target > net else (Action.SELL, net - target)


def _payload(strategy: Strategy, leg: Leg, action: str, quantity: Decimal, coid: str) -> dict[str, str]:
    return {"strategy": strategy.name, "exchange": leg.exchange, "symbol": leg.symbol, "action": action,
            "quantity": str(quantity), "pricetype": leg.price_type, "product": leg.product, "price": str(leg.price),
            "client_order_id": coid}


def _over_limit(deployment: Deployment, leg: Leg, nets: dict[Key, Decimal]) -> str | None:
    """Why an entry would exceed the deployment's max_open_positions (a new instrument beyond the limit)."""
    limit = deployment.max_open_positions
    if not limit or not leg.is_entry or nets.get((leg.exchange, leg.symbol, leg.product), ZERO) != 0:
        return None
    if sum(1 for q in nets.values() if q != 0) < limit:
        return None
    return f"max_open_positions: the deployment already holds {limit} positions."


def place_legs(signal: Signal, deployment: Deployment, legs: list[Leg], nets: dict[Key, Decimal],
               done: set[str] = frozenset(), earlier: dict[str, tuple[str, str]] | None = None) -> list[SignalOrder]:
    """Place each leg on one deployment; the outcomes, unsaved. Legs whose client_order_id is in `done`
    (an outcome recorded) are passed over; those in `earlier` (client_order_id -> the status and rejection
    reason of an order that exists, its outcome lost) are recorded as they went, never computed or placed again."""
    outcomes = []
    route: Route | None = None
    for index, leg in enumerate(legs):
        coid = client_order_id(signal.pk, deployment.pk, index)
        if coid in done:
            continue
        outcome = SignalOrder(signal=signal, deployment=deployment, leg=index, client_order_id=coid,
                              status=SignalOrderStatus.PLACED, message="Placed by an earlier run.")
        outcomes.append(outcome)
        if earlier and coid in earlier:
            status, reason = earlier[coid]
            if status == OrderStatus.REJECTED:
                outcome.status, outcome.message = SignalOrderStatus.FAILED, reason
            continue
        if deployment.status != DeploymentStatus.ACTIVE:
            outcome.status, outcome.message = SignalOrderStatus.SKIPPED, f"The deployment is {deployment.status}."
            continue
        try:
            planned = order_for(leg, deployment, nets.get((leg.exchange, leg.symbol, leg.product), ZERO))
            refusal = _over_limit(deployment, leg, nets)
            if refusal:
                raise TradingError(refusal)
            if isinstance(planned, str):
                outcome.status, outcome.message = SignalOrderStatus.SKIPPED, planned
                continue
            route = route or route_of(deployment)
            answer = handlers.run(PendingApiType.PLACE, deployment.user, _payload(signal.strategy, leg, *planned, coid),
                                  source=OrderSource.STRATEGY, route=route, deployment=deployment)
            outcome.message = f"Order {answer['orderid']} placed."
        except TradingError as exc:
            outcome.status, outcome.message = SignalOrderStatus.FAILED, exc.message
        except Exception:  # one account's fault must not stop the others
            log.exception("Signal %s: deployment %s failed", signal.pk, deployment.pk)
            outcome.status, outcome.message = SignalOrderStatus.FAILED, INTERNAL_ERROR
    return outcomes


def batches(deployments: list[Deployment], size: int) -> list[list[Deployment]]:
    """Deployments in batches of up to `size`, a user's deployments never split across two (their orders
    serialize on the user's risk lock: splitting them would only make two workers wait on each other)."""
    by_user: dict[int, list[Deployment]] = defaultdict(list)
    for deployment in deployments:
        by_user[deployment.user_id].append(deployment)
    result: list[list[Deployment]] = []
    for group in by_user.values():
        if result and len(result[-1]) + len(group) <= size:
            result[-1].extend(group)
        else:
            result.append(list(group))
    return result


def fan_out(signal_id: int) -> str:
    """The fan-out task's work: count the active deployments, place the first batch here and queue the rest."""
    signal = Signal.objects.select_related("strategy").filter(pk=signal_id).first()
    if signal is None or signal.status != SignalStatus.ACCEPTED:
        return f"signal {signal_id}: not an accepted signal, nothing to do"
    deployments = list(Deployment.objects.active().filter(strategy_id=signal.strategy_id)
                       .select_related("user", "account").order_by("user_id", "id"))
    Signal.objects.filter(pk=signal.pk).update(deployments=len(deployments))
    signal.deployments = len(deployments)
    if not deployments:
        return complete(signal)
    groups = batches(deployments, max(1, settings.STRATEGY_FANOUT_BATCH))
    from strategies import tasks  # the task module imports this one

    for group in groups[1:]:
        tasks.place_batch.delay(signal.pk, [d.pk for d in group])
    return place_batch(signal, groups[0])


def place_batch(signal: Signal | int, deployments: list[Deployment] | list[int]) -> str:
    """Place the signal's legs on these deployments (ids or rows), record the outcomes, complete the signal
    if this was the last batch."""
    if not isinstance(signal, Signal):
        signal = Signal.objects.select_related("strategy").get(pk=signal)
    if deployments and not isinstance(deployments[0], Deployment):
        # Not only the active ones: one paused since the fan-out began gets a "skipped" outcome, so the
        # signal still completes.
        deployments = list(Deployment.objects.filter(pk__in=deployments, strategy_id=signal.strategy_id)
                           .select_related("user", "account").order_by("user_id", "id"))
    legs = [Leg.from_json(leg) for leg in signal.legs]
    ids = [d.pk for d in deployments]
    done = set(SignalOrder.objects.filter(signal=signal, deployment_id__in=ids)
               .exclude(status=SignalOrderStatus.FAILED).values_list("client_order_id", flat=True))
    # Orders of an earlier run that died before recording them: recorded now, never placed again.
    wanted = [client_order_id(signal.pk, d, i) for d in ids for i in range(len(legs))]
    earlier = {coid: (status, reason) for coid, status, reason in Order.objects.filter(
        user_id__in={d.user_id for d in deployments}, client_order_id__in=wanted).exclude(client_order_id__in=done)
        .values_list("client_order_id", "status", "rejection_reason")}
    # Plain entries need no position; exits, targets and a max_open_positions do.
    needs_nets = (any(leg.intent not in (Intent.ENTER_LONG, Intent.ENTER_SHORT) for leg in legs)
                  or any(d.max_open_positions for d in deployments))
    nets = deployment_nets(ids) if needs_nets else {}
    outcomes = []
    for deployment in deployments:
        mine = nets.get((deployment.pk, in_sandbox(deployment)), {}) if needs_nets else {}
        outcomes += place_legs(signal, deployment, legs, mine, done, earlier)
    _record(signal, outcomes)
    return complete(signal)


def _record(signal: Signal, outcomes: list[SignalOrder]) -> None:
    """Write the outcomes (an earlier failed attempt's row is replaced), link their orders, log failures."""
    if not outcomes:
        return
    orders = dict(Order.objects.filter(user_id__in={o.deployment.user_id for o in outcomes},
                                       client_order_id__in=[o.client_order_id for o in outcomes])
                  .values_list("client_order_id", "pk"))
    for outcome in outcomes:
        outcome.order_id = orders.get(outcome.client_order_id)
    SignalOrder.objects.bulk_create(outcomes, update_conflicts=True, unique_fields=["signal", "deployment", "leg"],
                                    update_fields=["order", "client_order_id", "status", "message"])
    StrategyLog.objects.bulk_create([
        StrategyLog(strategy_id=signal.strategy_id, deployment=o.deployment, signal=signal, level=LogLevel.ERROR,
                    message=f"Signal {signal.pk}: {o.deployment} failed: {o.message}"[:500],
                    data={"client_order_id": o.client_order_id, "user": o.deployment.user_id})
        for o in outcomes if o.status == SignalOrderStatus.FAILED])


def complete(signal: Signal) -> str:
    """Recount the signal's outcomes; once every deployment's every leg has one, mark the signal processed
    (failed when nothing went in and something failed). Idempotent: run by each batch as it ends."""
    counts = dict(SignalOrder.objects.filter(signal=signal).values_list("status").annotate(n=Count("id")).order_by())
    placed, failed = counts.get(SignalOrderStatus.PLACED, 0), counts.get(SignalOrderStatus.FAILED, 0)
    skipped = counts.get(SignalOrderStatus.SKIPPED, 0)
    expected = signal.deployments * len(signal.legs)
    changes: dict[str, Any] = {"orders_placed": placed, "orders_failed": failed}
    summary = f"signal {signal.pk}: {placed} placed, {failed} failed, {skipped} skipped of {expected}"
    recorded = placed + failed + skipped
    # expected 0 with outcomes recorded: a batch ran before the fan-out counted the deployments (a message
    # from before a restore, say); only the fan-out's own count completes the signal then.
    if recorded >= expected and not (expected == 0 and recorded):
        changes["processed_at"] = timezone.now()
        if not signal.deployments:
            changes["reason"] = "The strategy has no active deployment: nothing placed."
        elif failed:
            changes["reason"] = f"{failed} of {expected} orders failed (see the strategy log)."
            if not placed and not skipped:
                changes["status"] = SignalStatus.FAILED
        updated = Signal.objects.filter(Q(processed_at__isnull=True), pk=signal.pk).update(**changes)
        if updated:  # the batch that completes it logs the summary and stamps the strategy
            Strategy.objects.filter(pk=signal.strategy_id).update(last_run_at=changes["processed_at"])
            StrategyLog.objects.create(strategy_id=signal.strategy_id, signal=signal,
                                       level=LogLevel.WARNING if failed else LogLevel.INFO,
                                       message=summary[0].upper() + summary[1:] + ".")
    else:
        # Never after completion: a batch's count read before another batch's last outcome committed is
        # stale, and must not overwrite the final figures.
        Signal.objects.filter(pk=signal.pk, processed_at__isnull=True).update(**changes)
    return summary
