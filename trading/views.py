"""The action center page: a trader approves or rejects the requests their semi-auto keys queued.

Deciding is a person's act: the page needs a session verified by a second factor, always (whatever
REQUIRE_SECOND_FACTOR says), and decides through the same service as the admin's actions.
"""
from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.views import second_factor_page
from trading.models import PendingOrder, PendingStatus
from trading.services import pending as action_center

WAITING_SHOWN = 200
DECIDED_SHOWN = 20


@second_factor_page(always=True)
def pending_orders(request: HttpRequest) -> HttpResponse:
    rows = PendingOrder.objects.for_user(request.user).select_related("api_key", "decided_by")
    context = {
        "waiting": rows.filter(status=PendingStatus.PENDING).order_by("created_at", "id")[:WAITING_SHOWN],
        "decided": rows.exclude(status=PendingStatus.PENDING).order_by("-decided_at", "-id")[:DECIDED_SHOWN],
    }
    return render(request, "trading/action_center.html", context)


@require_POST
@second_factor_page(always=True)
def decide(request: HttpRequest, pk: int, decision: str) -> HttpResponse:
    pending = get_object_or_404(PendingOrder.objects.for_user(request.user), pk=pk)
    if not pending.is_pending:
        messages.warning(request, f"Request #{pending.pk} was already {pending.get_status_display().lower()}.")
        return redirect("trading:action_center")
    if decision == "approve":
        done = action_center.approve_pending(pending, request.user)
        if done.error:
            messages.warning(request, f"Request #{done.pk} approved, but not placed: {done.error}")
        else:
            messages.success(request, f"Request #{done.pk} approved: {_placed(done.result)}.")
    else:
        reason = request.POST.get("reason", "").strip()[:1000] or f"Rejected by {request.user}."
        action_center.reject_pending(pending, request.user, reason)
        messages.success(request, f"Request #{pending.pk} rejected; nothing was placed.")
    return redirect("trading:action_center")


def _placed(result: dict) -> str:
    if result.get("orderid"):
        return f"order {result['orderid']} placed"
    if result.get("results"):
        return f"{len(result['results'])} order(s) placed"
    return str(result.get("message") or "done")
