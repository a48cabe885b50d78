"""The resource API's base lives in core/resource_api/base.py (below brokers, whose viewsets use it too);
these names stay importable from here for the apps that still do."""
from core.resource_api.base import (  # noqa: F401
    STATUS_OF_KIND,
    GlobalViewSet,
    ResourceApiMixin,
    ScopedViewSet,
    domain_error_response,
    field_errors,
)
