"""Webhook paths as OpenAlgo has them (no trailing slash: alert setups post to exactly these URLs)."""
from django.urls import path

from strategies import views

app_name = "strategies"
urlpatterns = [
    path("strategy/webhook/<str:webhook_id>", views.strategy_webhook, name="webhook"),
    path("chartink/webhook/<str:webhook_id>", views.chartink_webhook, name="chartink-webhook"),
]
