"""The resource API's pagination lives in core/resource_api/pagination.py; importable from here too."""
from core.resource_api.pagination import IdCursorPagination, OrderedPageNumberPagination, require_ordered  # noqa: F401
