"""Closing a deployment's positions through the order pipeline: the risk monitor, the intraday square-off,
OpenAlgo's strategy stop/closeall/closeleg and the resource API's square-off all come here.

A deployment's position in an instrument is the net of its own filled orders (Order.deployment), capped
by what the broker actually holds on the same side: the account may hold more (other strategies, manual
trades), which is not this deployment's to close, or less (closed by hand), which must not be overshot.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Case, DecimalField, F, Sum, Value, When

from accounts.services.usersettings import is_analyze_mode
from brokers.adapters.base import BrokerError
from brokers.services.accounts import adapter_for
from strategies.models import Deployment, DeploymentMode
from trading.models import Action, Order, OrderSource, OrderStatus, PriceType
from trading.services import pipeline
from trading.services.errors import NoTradingAccount, TradingError, from_broker
from trading.services.routing import sandbox_adapter
from trading.services.validation import OrderSpec

log = logging.getLogger(__name__)
ZERO = Decimal("0")
Leg = tuple[str, str, str]  # (exchange, symbol, product)


@dataclass
class Exit:
    """One instrument's close: the order placed, or why not."""

    exchange: str
    symbol: str
    product: str
    quantity: Decimal
    order: Order | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.order is not None and self.order.status != OrderStatus.REJECTED


@dataclass
class Closing:
    deployment: Deployment
    exits: list[Exit] = field(default_factory=list)
    error: str = ""  # the broker's positions could not be read: nothing was closed

    @property
    def order_ids(self) -> list[int]:
        return [e.order.pk for e in self.exits if e.order is not None]

    @property
    def failed(self) -> bool:
        return bool(self.error) or any(not e.ok for e in self.exits)


def in_sandbox(deployment: Deployment) -> bool:
    """Whether the deployment's orders go to its owner's sandbox now (no I/O: analyze mode is cached)."""
    return deployment.mode == DeploymentMode.SANDBOX or is_analyze_mode(deployment.user_id)


def route_of(deployment: Deployment) -> pipeline.Route:
    """Where the deployment's orders go: its owner's sandbox (a sandbox deployment, or an owner in analyze
    mode, who trades in the sandbox whatever the deployment says), else its live account's broker."""
    if in_sandbox(deployment):
        return pipeline.Route(sandbox_adapter(deployment.user_id), None, True)
    if not deployment.account.is_active:  # an operator switched it off: nothing goes to its broker
        raise NoTradingAccount(f"account: the deployment's trading account {deployment.account.name!r} is inactive.")
    return pipeline.Route(adapter_for(deployment.account), deployment.account, False)


def deployment_nets(deployment: Deployment, route: pipeline.Route) -> dict[Leg, Decimal]:
    """The deployment's net filled quantity per instrument on this route (one grouped query)."""
    signed = Case(When(action=Action.BUY, then=F("filled_quantity")), default=-F("filled_quantity"),
                  output_field=DecimalField(max_digits=18, decimal_places=6))
    rows = (Order.objects.filter(deployment=deployment, is_analyze=route.analyze, account=route.account,
                                 filled_quantity__gt=0)
            .values("exchange", "symbol", "product").annotate(net=Sum(signed, default=Value(ZERO))).order_by())
    return {(r["exchange"], r["symbol"], r["product"]): r["net"] for r in rows if r["net"]}


def exit_key(tag: str, deployment_id: int, leg: Leg) -> str:
    """An idempotency key for one exit of one occasion (a risk event, a day's square-off): a retried
    task reaches the first order instead of placing a second one. 64 characters at most."""
    digest = hashlib.sha256(f"{tag}|{deployment_id}|{'|'.join(leg)}".encode()).hexdigest()[:40]
    return f"exit-{deployment_id}-{digest}"[:64]


def close_deployment(deployment: Deployment, *, occasion: str | None = None, only: Leg | None = None,
                     source: str = OrderSource.STRATEGY) -> Closing:
    """Square off the deployment's open positions (or one instrument, `only`) with MARKET orders placed
    as its owner, tagged with the strategy's name and the deployment. `occasion` makes each exit
    idempotent (see exit_key). Never raises for one instrument's failure: each exit says how it went."""
    closing = Closing(deployment)
    try:
        route = route_of(deployment)
        held = route.adapter.positions()
    except BrokerError as exc:
        closing.error = from_broker(exc).message
        return closing
    except TradingError as exc:
        closing.error = exc.message
        return closing
    broker_nets: dict[Leg, Decimal] = {}
    for position in held:
        leg = (position.exchange, position.symbol, position.product)
        broker_nets[leg] = broker_nets.get(leg, ZERO) + position.quantity
    strategy = deployment.strategy
    for leg, mine in sorted(deployment_nets(deployment, route).items()):
        if only is not None and leg[:2] != only[:2]:
            continue
        actual = broker_nets.get(leg, ZERO)
        if actual == 0 or (actual > 0) != (mine > 0):
            continue  # closed already (by hand, or by an earlier exit)
        quantity = min(abs(mine), abs(actual))
        spec = OrderSpec(exchange=leg[0], symbol=leg[1], product=leg[2], quantity=quantity,
                         action=Action.SELL if mine > 0 else Action.BUY, price_type=PriceType.MARKET,
                         strategy=strategy.name,
                         client_order_id=exit_key(occasion, deployment.pk, leg) if occasion else None)
        outcome = Exit(*leg, quantity)
        try:
            outcome.order = place_for(deployment, spec, route, source=source)
        except TradingError as exc:
            outcome.error = exc.message
            log.warning("strategies: exit of %s:%s for deployment %s failed: %s", leg[0], leg[1],
                        deployment.pk, exc.message)
        closing.exits.append(outcome)
    return closing


def place_for(deployment: Deployment, spec: OrderSpec, route: pipeline.Route, *, source: str) -> Order:
    """Place one risk-reducing order for the deployment, as its owner, recorded against it."""
    return pipeline.place(deployment.user, spec, route=route, source=source, reduces_risk=True, deployment=deployment)
