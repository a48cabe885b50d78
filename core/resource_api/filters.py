"""Filters every app's /api/ filtersets share."""
from __future__ import annotations

import django_filters as filters
from django import forms
from django.db.models import QuerySet


class UpperCharFilter(filters.CharFilter):
    """Symbols and exchanges are stored upper case; clients may send any case."""

    def filter(self, qs: QuerySet, value: str) -> QuerySet:
        return super().filter(qs, value.strip().upper() if value else value)


class IdFilter(filters.NumberFilter):
    """A row id: a whole number a 64-bit key can hold (past it the database overflows: a 500, not a 400)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)
