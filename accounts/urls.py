"""Self-service pages of a trader (log in, second factor, API keys, risk settings, analyze mode)."""
from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("login/", views.login_view, name="login"),
    path("login/verify/", views.login_verify, name="login_verify"),
    path("logout/", views.logout_view, name="logout"),
    path("2fa/setup/", views.otp_setup, name="otp_setup"),
    path("2fa/backup-codes/", views.backup_codes, name="backup_codes"),
    path("keys/", views.apikey_list, name="apikeys"),
    path("keys/<int:pk>/reveal/", views.apikey_reveal, name="apikey_reveal"),
    path("keys/<int:pk>/revoke/", views.apikey_revoke, name="apikey_revoke"),
    path("risk/", views.risk_settings, name="risk"),
    path("analyze/", views.analyze_mode, name="analyze_mode"),
    path("password/", views.password_change, name="password_change"),
]
