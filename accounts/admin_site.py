"""The admin site: staff users get in only with a verified second factor.

Installed as the default site (accounts.adminconfig.AlgoDeskAdminConfig), so `admin.site.register` and
`@admin.register` in every app land here. Its login is the site's password step (views.py, through
django-axes), followed by the second-factor page, or by enrollment for a staff user without a device.
"""
from __future__ import annotations

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django_otp.admin import OTPAdminSite

from accounts.models import Activity
from accounts.services import otp
from accounts.services.activity import log_activity

#: Models operators seldom open, listed on the index in a collapsed "Plumbing" section (still reachable, and
#: in the sidebar as usual): whole apps by label, or single models by (app label, model name).
PLUMBING_APPS = frozenset({"axes", "otp_static", "django_celery_results", "auth"})
PLUMBING_MODELS = frozenset({
    *(("django_celery_beat", name) for name in ("ClockedSchedule", "CrontabSchedule", "IntervalSchedule",
                                                 "SolarSchedule")),
    # Derived rows (daily rollups, the heartbeat) and retention's archives: read now and then, never worked in.
    *(("analytics", name) for name in ("Heartbeat", "LatencyRollup", "LatencyRollupDay", "PnlRollup", "PnlRollupDay",
                                       "TrafficLogArchive", "ApiLogArchive", "SystemLogArchive")),
    ("trading", "OrderArchive"), ("trading", "TradeArchive"),
})


def split_plumbing(app_list: list[dict]) -> tuple[list[dict], list[dict]]:
    """(operators' apps, plumbing apps), each app keeping only its models of that kind."""
    main, plumbing = [], []
    for app in app_list:
        if app["app_label"] in PLUMBING_APPS:
            plumbing.append(app)
            continue
        pipes = [m for m in app["models"] if (app["app_label"], m["object_name"]) in PLUMBING_MODELS]
        kept = [m for m in app["models"] if m not in pipes]
        if kept:
            main.append({**app, "models": kept})
        if pipes:
            plumbing.append({**app, "models": pipes})
    return main, plumbing


class AlgoDeskAdminSite(OTPAdminSite):
    site_header = "AlgoDesk administration"
    site_title = "AlgoDesk admin"
    index_title = "Operations"
    site_url = "/accounts/"  # "View site" leads to the self-service pages
    login_form = AdminAuthenticationForm
    login_template = "admin/login.html"

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)

    def index(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        """The operators' dashboard (templates/admin/index.html) over the operators' apps; plumbing below."""
        # AdminSite.index() without its own get_app_list() call: each app list costs the ModelAdmins' permission
        # checks (some query), and each_context() builds one already.
        context = self.each_context(request)
        main, plumbing = split_plumbing(context["available_apps"])
        context.update({"title": self.index_title, "subtitle": None, "app_list": main, "plumbing_list": plumbing,
                        **(extra_context or {})})
        request.current_app = self.name
        return TemplateResponse(request, self.index_template or "admin/index.html", context)

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        from accounts.views import PasswordLoginView, url_with_next

        index = reverse("admin:index", current_app=self.name)
        user = request.user
        if user.is_authenticated and user.is_active and user.is_staff and not user.is_verified():
            step = "accounts:login_verify" if otp.has_device(user) else "accounts:otp_setup"
            return redirect(url_with_next(step, request.GET.get(REDIRECT_FIELD_NAME) or index))
        if request.method == "GET" and self.has_permission(request):
            return HttpResponseRedirect(index)
        context = {
            **self.each_context(request),
            "title": "Log in",
            "subtitle": None,
            "app_path": request.get_full_path(),
            "username": user.get_username(),
        }
        if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
            context[REDIRECT_FIELD_NAME] = index
        context.update(extra_context or {})
        request.current_app = self.name
        return PasswordLoginView.as_view(
            for_admin=True, authentication_form=self.login_form, template_name=self.login_template,
            extra_context=context, next_page=index,
        )(request)

    def password_change(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        response = super().password_change(request, extra_context)
        if request.method == "POST" and response.status_code == 302:
            log_activity(Activity.PASSWORD_CHANGED, user=request.user, request=request, via="admin")
        return response
