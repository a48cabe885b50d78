"""The admin app config, installed in place of "django.contrib.admin" (see INSTALLED_APPS).

Kept apart from apps.py (Django would see two configs there) and from admin_site.py (which imports
forms and models, not allowed while the app registry is loading).
"""
from django.contrib.admin.apps import AdminConfig


class AlgoDeskAdminConfig(AdminConfig):
    """Every app's `admin.site` / `@admin.register` lands on the site that requires a second factor."""

    default_site = "accounts.admin_site.AlgoDeskAdminSite"
