"""The trader's action center page (config/urls.py mounts it at /action-center/)."""
from django.urls import path

from trading import views

app_name = "trading"

urlpatterns = [
    path("", views.pending_orders, name="action_center"),
    path("<int:pk>/approve/", views.decide, {"decision": "approve"}, name="approve_pending"),
    path("<int:pk>/reject/", views.decide, {"decision": "reject"}, name="reject_pending"),
]
