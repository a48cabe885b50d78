"""The trader's broker-accounts page (config/urls.py mounts it at /brokers/)."""
from django.urls import path

from brokers import views

app_name = "brokers"

urlpatterns = [
    path("", views.account_list, name="accounts"),
    path("<int:pk>/pin/", views.pin, name="pin"),
]
