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
from django.urls import reverse
from django_otp.admin import OTPAdminSite

from accounts.models import Activity
from accounts.services import otp
from accounts.services.activity import log_activity


class AlgoDeskAdminSite(OTPAdminSite):
    site_header = "AlgoDesk administration"
    site_title = "AlgoDesk admin"
    index_title = "Operations"
    site_url = "/accounts/"  # "View site" leads to the self-service pages
    login_form = AdminAuthenticationForm
    login_template = "admin/login.html"

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)

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
