"""Numbers as people read them, in the admin and the trader's pages (the APIs keep plain decimal strings).

Money has two decimals and Indian grouping (1,00,000.00: the locale's, config/formats/en_IN); a quantity
shows as many decimals as it has (3, 2.5, 1,500), never the column's six; a price shows two to four.
"""
from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import formats


def _grouped(value: Decimal, places: int) -> str:
    return formats.number_format(value, places, use_l10n=True, force_grouping=True)


def _places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def money(value: Any) -> str:
    return "" if value is None else _grouped(Decimal(value), 2)


def quantity(value: Any) -> str:
    return "" if value is None else _grouped(Decimal(value), _places(Decimal(value)))


def price(value: Any) -> str:
    return "" if value is None else _grouped(Decimal(value), min(max(_places(Decimal(value)), 2), 4))


def formatter(field: models.Field) -> Callable[[Any], str] | None:
    """How a model field's value is shown, or None to leave it to Django (not a decimal, or a latency)."""
    if not isinstance(field, models.DecimalField) or field.name.endswith("_ms"):
        return None
    if "quantity" in field.name:
        return quantity
    return money if field.decimal_places == 2 else price


class NumbersAdminMixin:
    """Show a ModelAdmin's (or inline's) decimal columns and read-only decimal fields with the formats above.

    Each such field name is swapped for `<name>_shown`, a display function with the field's label and
    ordering, in list_display and wherever the field is read-only; editable inputs keep the plain value.
    """

    SUFFIX = "_shown"

    def __getattr__(self, name: str) -> Any:
        if not name.endswith(self.SUFFIX):
            raise AttributeError(name)
        field = self._decimal_field(name.removesuffix(self.SUFFIX))
        if field is None:
            raise AttributeError(name)
        show = formatter(field)

        def shown(obj: models.Model) -> str:
            return show(getattr(obj, field.name))

        shown.short_description = field.verbose_name
        shown.admin_order_field = field.name
        return shown

    def _decimal_field(self, name: Any) -> models.Field | None:
        if not isinstance(name, str):
            return None
        try:
            field = self.model._meta.get_field(name)
        except FieldDoesNotExist:
            return None
        return field if formatter(field) else None

    def _swap(self, names: Any, only: set[str] | None = None) -> list:
        return [f"{name}{self.SUFFIX}" if self._decimal_field(name) and (only is None or name in only) else name
                for name in names]

    def _read_only_names(self, request: Any, obj: Any) -> set[str] | None:
        """None when the whole form is read-only, else the names declared read-only."""
        if obj is not None and not self.has_change_permission(request, obj):
            return None
        return set(super().get_readonly_fields(request, obj))

    def get_list_display(self, request: Any) -> list:
        return self._swap(super().get_list_display(request))

    def get_readonly_fields(self, request: Any, obj: Any = None) -> list:
        return self._swap(super().get_readonly_fields(request, obj))

    def get_fieldsets(self, request: Any, obj: Any = None) -> list:
        only = self._read_only_names(request, obj)
        return [(title, {**options, "fields": [self._swap(f, only) if isinstance(f, list | tuple)
                                               else self._swap([f], only)[0] for f in options["fields"]]})
                for title, options in super().get_fieldsets(request, obj)]
