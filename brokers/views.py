"""The trader's broker-accounts page: connection health, failover history and the pin control.

Only the user's own rows are read (for_user); pinning goes through the same service as the API and the
admin, which writes it to the user's activity log.
"""
from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.views import account_page, second_factor_page
from brokers.models import FailoverEvent, TradingAccount
from brokers.services.accounts import set_pinned

EVENTS_SHOWN = 20


@account_page
def account_list(request: HttpRequest) -> HttpResponse:
    accounts = TradingAccount.objects.for_user(request.user).select_related("standing_in_for").order_by(
        "priority", "id")
    events = (FailoverEvent.objects.filter(user=request.user).select_related("from_account", "to_account")
              [:EVENTS_SHOWN])
    return render(request, "brokers/accounts.html", {"accounts": accounts, "events": events})


@require_POST
@second_factor_page
def pin(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(TradingAccount.objects.for_user(request.user), pk=pk)
    pinned = request.POST.get("pinned") == "1"
    set_pinned(account, pinned, request=request)
    state = "pinned: automatic failover leaves it alone" if pinned else "no longer pinned"
    messages.success(request, f"{account.name} is {state}.")
    return redirect("brokers:accounts")
