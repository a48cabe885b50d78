"""/api/strategies/... routes (config/urls.py includes them under api/, before trading's router). The
sub-resources are registered before `strategies`, whose detail route would otherwise take their names."""
from rest_framework.routers import SimpleRouter

from strategies.resource_api import views

app_name = "strategies_api"

router = SimpleRouter()
router.register("strategies/symbols", views.StrategySymbolViewSet, basename="strategy-symbol")
router.register("strategies/deployments", views.DeploymentViewSet, basename="deployment")
router.register("strategies/risk-rules", views.RiskRuleViewSet, basename="risk-rule")
router.register("strategies/signals", views.SignalViewSet, basename="signal")
router.register("strategies/logs", views.StrategyLogViewSet, basename="strategy-log")
router.register("strategies/risk-events", views.RiskEventViewSet, basename="risk-event")
router.register("strategies/performance", views.StrategyPerformanceViewSet, basename="strategy-performance")
router.register("strategies", views.StrategyViewSet, basename="strategy")

urlpatterns = router.urls
