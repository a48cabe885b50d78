"""Pagination of the /api/ resource API.

Page numbers for small, bounded lists; a cursor on `id` for long histories (orders, trades), where
an OFFSET would scan ever more rows and inserts between requests would shift pages. Both refuse an
unordered queryset: without an ORDER BY the database may return rows twice or never across pages.
"""
from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.request import Request


def require_ordered(queryset: QuerySet, view: object) -> None:
    if isinstance(queryset, QuerySet) and not queryset.ordered:
        raise ImproperlyConfigured(
            f"{type(view).__name__} paginates an unordered queryset; give its model a Meta.ordering "
            "or order the queryset, or pages may repeat or skip rows."
        )


class OrderedPageNumberPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500

    def paginate_queryset(self, queryset: QuerySet, request: Request, view: object = None) -> list | None:
        require_ordered(queryset, view)
        return super().paginate_queryset(queryset, request, view)


class IdCursorPagination(CursorPagination):
    """Newest first by primary key: stable under inserts and O(page) at any depth. The cursor sets
    its own ORDER BY, so it cannot meet an unordered queryset."""

    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 500
