"""A trader's own pages (config/urls.py mounts them at /desk/)."""
from django.urls import path

from analytics.pages import views

app_name = "desk"

urlpatterns = [
    path("orders/", views.orders, name="orders"),
    path("trades/", views.trades, name="trades"),
    path("positions/", views.positions, name="positions"),
    path("holdings/", views.holdings, name="holdings"),
    path("funds/", views.funds, name="funds"),
    path("pnl/", views.pnl_page, name="pnl"),
    path("latency/", views.latency_page, name="latency"),
]
