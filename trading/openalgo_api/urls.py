"""/api/v1/ routes. Each module defines its own `urlpatterns`; unknown paths get a JSON 404."""
from django.urls import path, re_path

from trading.openalgo_api import account, calendar, market, orders, reference
from trading.openalgo_api.base import not_found

app_name = "api_v1"

urlpatterns = [
    *orders.urlpatterns,
    *account.urlpatterns,
    *market.urlpatterns,
    *reference.urlpatterns,
    *calendar.urlpatterns,
    re_path(r"^(?P<rest>.*)$", not_found),
    path("", not_found),
]
