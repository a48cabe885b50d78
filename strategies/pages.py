"""A trader's own strategies page (/strategies/): their strategies with the webhook URL and a
ready-to-paste TradingView alert, their deployments and subscriptions with state and P&L, recent signals
with their outcome; and the buttons that pause, resume, stop or square off a deployment (the same services
as the APIs). Another user's deployment answers 404, as on the APIs."""
from __future__ import annotations

from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.views import account_page, second_factor_page
from strategies.models import Deployment, Signal, Strategy
from strategies.services import alerts, control, exits
from strategies.services.pnl import pnl_of
from trading.models import OrderSource
from trading.services.errors import TradingError

SIGNALS_SHOWN = 25
DEPLOYMENTS_SHOWN = 200


@account_page
def my_strategies(request: HttpRequest) -> HttpResponse:
    user = request.user
    strategies = list(Strategy.objects.filter(user=user).prefetch_related("symbols").order_by("name", "id"))
    for strategy in strategies:
        strategy.webhook_url = request.build_absolute_uri(alerts.webhook_path(strategy))
        strategy.alert_body = alerts.tradingview_alert(strategy)
    deployments = list(Deployment.objects.filter(Q(user=user) | Q(strategy__user=user))
                       .select_related("strategy", "account", "user").order_by("strategy__name", "id")
                       [:DEPLOYMENTS_SHOWN])
    figures = pnl_of([d.pk for d in deployments])
    for d in deployments:
        d.pnl = figures[d.pk]
        d.is_subscription = d.strategy.user_id != user.pk
        d.is_subscriber = d.user_id != user.pk  # a subscriber of the caller's house strategy
    signals = (Signal.objects.filter(strategy__user=user).select_related("strategy")
               .order_by("-received_at", "-id")[:SIGNALS_SHOWN])
    return render(request, "strategies/my_strategies.html", {
        "strategies": strategies, "deployments": deployments, "signals": signals})


ACTIONS = {
    "pause": (control.pause, "paused"),
    "start": (control.start, "running"),
    "stop": (control.stop, "stopped: no further signal reaches it"),
}


@require_POST
@second_factor_page
def deployment_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    deployment = (Deployment.objects.filter(Q(user=request.user) | Q(strategy__user=request.user), pk=pk)
                  .select_related("strategy", "account", "user").first())
    if deployment is None or (action not in ACTIONS and action != "square-off"):
        raise Http404("No such deployment.")
    try:
        if action == "square-off":
            closing = exits.close_deployment(deployment, source=OrderSource.API)
            failed = [closing.error] if closing.error else [f"{e.symbol}: {e.error}" for e in closing.exits if not e.ok]
            if failed:
                messages.warning(request, f"Square-off of {deployment}: " + "; ".join(failed))
            else:
                messages.success(request, f"Square-off of {deployment.strategy}: {len(closing.order_ids)} order(s) "
                                          "placed.")
        else:
            change, said = ACTIONS[action]
            change(deployment, by=f" by {request.user.username} (page)")
            messages.success(request, f"{deployment.strategy} on "
                                      f"{deployment.account.name if deployment.account_id else 'sandbox'}: {said}.")
    except TradingError as exc:
        messages.warning(request, exc.message)
    return redirect("strategy_pages:mine")
