"""The trader's strategies page (config/urls.py mounts it at /strategies/)."""
from django.urls import path

from strategies import pages

app_name = "strategy_pages"

urlpatterns = [
    path("", pages.my_strategies, name="mine"),
    path("deployments/<int:pk>/<str:action>/", pages.deployment_action, name="deployment_action"),
]
