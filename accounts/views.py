"""Self-service pages: sign-in with a second factor, 2FA enrollment, API keys, risk limits, analyze mode.

Sign-in is two steps. The password step (also the admin's login, see admin_site.py) authenticates
through django-axes; a user with a confirmed device is not logged in yet but remembered in the
session as pending, and only the second-factor step calls auth.login(). So a session never exists
for such a user on the strength of a password alone.
"""
from __future__ import annotations

import time
from datetime import timedelta
from functools import wraps
from urllib.parse import urlencode

import django_otp
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import BACKEND_SESSION_KEY, REDIRECT_FIELD_NAME, get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts import ratelimit
from accounts.forms import (
    AnalyzeModeForm,
    ApiKeyCreateForm,
    EnrollForm,
    PasswordConfirmForm,
    RiskSettingsForm,
    SecondFactorForm,
)
from accounts.models import Activity, ApiKey, User
from accounts.services import apikeys, otp, risk, usersettings
from accounts.services.activity import log_activity

PENDING_LOGIN = "accounts_pending_login"
PENDING_LOGIN_SECONDS = 5 * 60
LOCKED_STATUS = 429


# --- Helpers --------------------------------------------------------------------------------------

def url_with_next(viewname: str, next_url: str | None) -> str:
    url = reverse(viewname)
    return f"{url}?{urlencode({REDIRECT_FIELD_NAME: next_url})}" if next_url else url


def safe_next(request: HttpRequest, default: str | None = None) -> str:
    candidate = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME)
    if candidate and url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()},
                                                     require_https=request.is_secure()):
        return candidate
    return default or resolve_url(settings.LOGIN_REDIRECT_URL)


def account_page(view):
    """Logged in, and verified by the second factor when the user has one."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_verified() and otp.has_device(request.user):
            return redirect(url_with_next("accounts:login_verify", request.get_full_path()))
        return view(request, *args, **kwargs)

    return login_required(wrapper)


def second_factor_page(view=None, *, always: bool = False):
    """account_page, and the session verified by a second factor: a user without one is led to enroll
    first, then brought back. Pages that change API keys, risk limits or analyze mode use it;
    REQUIRE_SECOND_FACTOR=False relaxes that for demos. `always` pages (deciding on pending orders,
    a person's act) never relax."""

    def decorate(view):
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            # account_page has sent a user with a device to verify it: one left unverified has none.
            if not request.user.is_verified() and (always or settings.REQUIRE_SECOND_FACTOR):
                messages.info(request, "Set up two-factor authentication first: it protects your API keys, "
                                       "risk limits and orders if your password leaks.")
                return redirect(url_with_next("accounts:otp_setup", request.get_full_path()))
            return view(request, *args, **kwargs)

        return account_page(wrapper)

    return decorate if view is None else decorate(view)


def _posted(request: HttpRequest):
    """The form data of a POST (even an empty one: an unticked checkbox sends nothing), else None."""
    return request.POST if request.method == "POST" else None


def _field_error(form, message: str) -> None:
    """Service errors read 'field: message'; put them on that field when the form has it."""
    field, sep, text = message.partition(": ")
    if sep and field in form.fields:
        form.add_error(field, text)
    else:
        form.add_error(None, message)


# --- Sign-in --------------------------------------------------------------------------------------

class PasswordLoginView(auth_views.LoginView):
    """The password step, for the site and (for_admin=True) the admin. Lock-out comes from django-axes."""

    template_name = "accounts/login.html"
    for_admin = False

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        # Per client IP, in the shared cache (LOGIN_RATE_LIMIT); django-axes locks out per user too.
        wait = ratelimit.check("login", ratelimit.ip_identity(request))
        if wait is not None:
            response = render(request, "accounts/rate_limited.html", {"retry_after": wait}, status=429)
            response["Retry-After"] = str(wait)
            return response
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        user = form.get_user()
        next_url = self.get_success_url()
        if otp.has_device(user):
            self.request.session[PENDING_LOGIN] = {"id": user.pk, "backend": user.backend, "at": time.time()}
            return redirect(url_with_next("accounts:login_verify", next_url))
        auth_login(self.request, user)
        if self.for_admin:
            # The admin admits verified users only: a staff user without a device enrolls first.
            messages.info(self.request, "The admin needs a second factor: set up your authenticator app.")
            return redirect(url_with_next("accounts:otp_setup", next_url))
        return redirect(next_url)


login_view = PasswordLoginView.as_view()
logout_view = auth_views.LogoutView.as_view()


def _second_factor_user(request: HttpRequest) -> tuple[User | None, str | None]:
    """Whom the second-factor step is for: a logged-in unverified user, or the pending login."""
    if request.user.is_authenticated:
        return request.user, request.session.get(BACKEND_SESSION_KEY)
    pending = request.session.get(PENDING_LOGIN)
    if not pending or time.time() - pending["at"] > PENDING_LOGIN_SECONDS:
        request.session.pop(PENDING_LOGIN, None)
        return None, None
    user = get_user_model().objects.filter(pk=pending["id"], is_active=True).first()
    return user, pending["backend"]


def login_verify(request: HttpRequest) -> HttpResponse:
    user, backend = _second_factor_user(request)
    if user is None:
        messages.info(request, "Please sign in again.")
        return redirect("accounts:login")
    next_url = safe_next(request)
    if request.user.is_authenticated and request.user.is_verified():
        return redirect(next_url)
    if not otp.has_device(user):
        return redirect(url_with_next("accounts:otp_setup", next_url))
    form = SecondFactorForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            device = otp.verify(user, form.cleaned_data["code"], request)
        except otp.SecondFactorLocked:
            device = None
        if device is not None:
            if not request.user.is_authenticated:
                request.session.pop(PENDING_LOGIN, None)
                auth_login(request, user, backend=backend)
            django_otp.login(request, device)
            return redirect(next_url)
        if not otp.is_locked(user):
            form.add_error("code", "That code is not right (or was used already).")
    locked = otp.is_locked(user)
    context = {"form": form, "locked": locked, "next": next_url, "pending_user": user}
    return render(request, "accounts/login_verify.html", context, status=LOCKED_STATUS if locked else 200)


# --- Two-factor enrollment and backup codes -------------------------------------------------------

@account_page
def otp_setup(request: HttpRequest) -> HttpResponse:
    user = request.user
    device = otp.pending_totp_device(user)
    form = EnrollForm(_posted(request))
    locked = otp.is_locked(user)
    if request.method == "POST" and form.is_valid() and not locked:
        try:
            confirmed = otp.confirm_totp(user, device, form.cleaned_data["code"], request)
        except otp.SecondFactorLocked:
            confirmed = False
        if confirmed:
            device.refresh_from_db()
            django_otp.login(request, device)
            return _enrolled(request)
        locked = otp.is_locked(user)
        if not locked:
            form.add_error("code", "That code is not right: check the time on your phone and try again.")
    context = {
        "form": form, "locked": locked, "qr_svg": otp.qr_svg(device), "secret": otp.secret_text(device),
        "enrolled": otp.is_enrolled(user), "next": request.GET.get(REDIRECT_FIELD_NAME, ""),
    }
    return render(request, "accounts/otp_setup.html", context, status=LOCKED_STATUS if locked else 200)


def _enrolled(request: HttpRequest) -> HttpResponse:
    """After a confirmed enrollment (a trader's, or an operator's on the way to the admin): the backup
    codes, shown in this response only, then on to where they were going. A user who still has codes
    (a new phone) keeps them."""
    next_url = safe_next(request, reverse("accounts:dashboard"))
    left = otp.backup_codes_left(request.user)
    codes = None if left else otp.generate_backup_codes(request.user, request)
    messages.success(request, "Your authenticator app is set up.")
    context = {"codes": codes, "left": left, "next": next_url, "enrolled_now": True}
    return render(request, "accounts/backup_codes.html", context)


@account_page
def backup_codes(request: HttpRequest) -> HttpResponse:
    if not otp.is_enrolled(request.user):
        messages.info(request, "Set up your authenticator app first; backup codes stand in for it.")
        return redirect("accounts:otp_setup")
    codes = otp.generate_backup_codes(request.user, request) if request.method == "POST" else None
    context = {"codes": codes, "left": otp.backup_codes_left(request.user)}
    return render(request, "accounts/backup_codes.html", context)


# --- Dashboard ------------------------------------------------------------------------------------

@account_page
def dashboard(request: HttpRequest) -> HttpResponse:
    user = request.user
    context = {
        "enrolled": otp.is_enrolled(user),
        "backup_left": otp.backup_codes_left(user),
        "key_count": ApiKey.objects.for_user(user).usable().count(),
        "analyze_mode": usersettings.is_analyze_mode(user.pk),
        "risk": risk.get_risk_settings(user),
        "activity": user.activity.select_related("actor")[:10],
    }
    return render(request, "accounts/dashboard.html", context)


# --- API keys -------------------------------------------------------------------------------------

def _keys_page(request: HttpRequest, form: ApiKeyCreateForm, new_key: str | None = None,
               new_key_row: ApiKey | None = None, status: int = 200) -> HttpResponse:
    context = {"form": form, "keys": ApiKey.objects.for_user(request.user).order_by("-created_at"),
               "new_key": new_key, "new_key_row": new_key_row}
    return render(request, "accounts/apikeys.html", context, status=status)


@second_factor_page
def apikey_list(request: HttpRequest) -> HttpResponse:
    form = ApiKeyCreateForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        expires_at = timezone.now() + timedelta(days=data["expires_days"]) if data["expires_days"] else None
        try:
            key, raw = apikeys.create_key(request.user, data["name"], data["order_mode"], expires_at,
                                          request=request)
        except apikeys.ApiKeyError as exc:
            _field_error(form, str(exc))
        else:
            # Shown in this response only: the key is not put in the session or a message.
            return _keys_page(request, ApiKeyCreateForm(), new_key=raw, new_key_row=key, status=201)
    return _keys_page(request, form, status=400 if form.errors else 200)


@second_factor_page
def apikey_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    key = get_object_or_404(ApiKey, pk=pk, user=request.user)
    form = PasswordConfirmForm(_posted(request))
    raw = None
    if request.method == "POST" and form.is_valid():
        try:
            raw = apikeys.reveal(key, form.cleaned_data["password"], request=request)
        except apikeys.ApiKeyError as exc:
            _field_error(form, str(exc))
    return render(request, "accounts/apikey_reveal.html", {"key": key, "form": form, "raw": raw},
                  status=400 if form.errors else 200)


@require_POST
@second_factor_page
def apikey_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    key = get_object_or_404(ApiKey, pk=pk, user=request.user)
    apikeys.revoke(key, request=request)
    messages.success(request, f"Key “{key.name}” ({key.prefix}…) is revoked; it stops working at once.")
    return redirect("accounts:apikeys")


# --- Risk settings, analyze mode, password --------------------------------------------------------

@second_factor_page
def risk_settings(request: HttpRequest) -> HttpResponse:
    form = RiskSettingsForm(_posted(request), row=risk.get_risk_settings(request.user))
    if request.method == "POST" and form.is_valid():
        changed = form.changed_limits()
        try:
            if changed:
                risk.tighten_risk_settings(request.user, request=request, **changed)
        except ValidationError as exc:
            form.add_error(None, exc)  # a dict naming the fields: each error lands on its field
        else:
            if changed:
                messages.success(request, "Risk settings saved.")
            return redirect("accounts:risk")
    return render(request, "accounts/risk.html", {"form": form}, status=400 if form.errors else 200)


@second_factor_page
def analyze_mode(request: HttpRequest) -> HttpResponse:
    on = usersettings.is_analyze_mode(request.user.pk)
    form = AnalyzeModeForm(_posted(request), initial={"analyze_mode": on})
    if request.method == "POST" and form.is_valid():
        wanted = form.cleaned_data["analyze_mode"]
        if wanted != on:
            usersettings.set_analyze_mode(request.user, wanted, request=request)
        messages.success(request, "Analyze mode is on: orders go to the sandbox." if wanted
                         else "Analyze mode is off: orders go to your broker.")
        return redirect("accounts:analyze_mode")
    return render(request, "accounts/analyze_mode.html", {"form": form, "on": on})


@method_decorator(account_page, name="dispatch")
class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:dashboard")

    def form_valid(self, form):
        response = super().form_valid(form)  # keeps this session (and its verification) signed in
        log_activity(Activity.PASSWORD_CHANGED, user=self.request.user, request=self.request)
        messages.success(self.request, "Your password is changed.")
        return response


password_change = PasswordChangeView.as_view()
