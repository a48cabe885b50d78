"""/api/ routes: one router for the resource API of every app (config/urls.py includes it under api/)."""
from rest_framework.routers import DefaultRouter

from brokers.resource_api.views import InstrumentViewSet, TradingAccountViewSet
from trading.resource_api import schema  # noqa: F401  (registers the API-key scheme with drf-spectacular)
from trading.resource_api.calendar import CalendarViewSet
from trading.resource_api.views import (
    HoldingViewSet,
    OrderViewSet,
    PendingOrderViewSet,
    PositionViewSet,
    TradeViewSet,
)

app_name = "api"

router = DefaultRouter()
router.register("accounts", TradingAccountViewSet, basename="account")
router.register("orders", OrderViewSet, basename="order")
router.register("trades", TradeViewSet, basename="trade")
router.register("positions", PositionViewSet, basename="position")
router.register("holdings", HoldingViewSet, basename="holding")
router.register("pending-orders", PendingOrderViewSet, basename="pending-order")
router.register("instruments", InstrumentViewSet, basename="instrument")
router.register("calendar", CalendarViewSet, basename="calendar")

urlpatterns = router.urls
