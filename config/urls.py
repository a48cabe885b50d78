"""Root URLs. Each app owns its urls module; the admin requires a verified second factor."""
from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView

from accounts.api import MeView
from analytics.api.latency import LatencyView
from analytics.api.logs import ApiLogList
from analytics.api.pnl import PnlView
from config.apidocs import SwaggerView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="accounts:dashboard", permanent=False)),
    path("admin/", admin.site.urls),
    # Browsers ask for /favicon.ico whatever the page links; the file itself is a static file.
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("algodesk/favicon.ico"), permanent=False)),
    path("accounts/", include("accounts.urls")),
    path("action-center/", include("trading.urls")),
    path("desk/", include("analytics.urls")),
    path("brokers/", include("brokers.urls")),
    path("strategies/", include("strategies.page_urls")),
    path("api/v1/strategy/", include("strategies.openalgo_api.views")),  # OpenAlgo's strategy module
    path("api/v1/", include("trading.openalgo_api.urls")),
    path("api/me/", MeView.as_view(), name="api-me"),
    path("api/analytics/latency/", LatencyView.as_view(), name="api-analytics-latency"),
    path("api/analytics/pnl/", PnlView.as_view(), name="api-analytics-pnl"),
    path("api/analytics/api-logs/", ApiLogList.as_view(), name="api-analytics-api-logs"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include("strategies.resource_api.urls")),  # /api/strategies/...
    path("api/", include("trading.resource_api.urls")),  # after v1, schema and docs, so they keep their paths
    path("", include("strategies.urls")),  # /strategy/webhook/<id> and /chartink/webhook/<id>: OpenAlgo's paths
]
