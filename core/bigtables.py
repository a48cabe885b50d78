"""The admin over tables of millions of rows: no COUNT(*) of the whole table on every page.

Django's change list counts the filtered rows on every page (`show_full_result_count = False` only
drops the second, unfiltered count). `BigTableAdminMixin` counts at most COUNT_CAP rows, without an
ORDER BY (a LIMITed scan stops early), and shows "10,000+ orders" past that; pages beyond the cap are
reached by filtering. It also renders the rows' action checkboxes directly (bench/analytics.py: the
order list over 1,000,000 orders).
"""
from __future__ import annotations

from django.contrib.admin import helpers
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext as _

COUNT_CAP = 10_000


class AtLeast(int):
    """A count that stopped at its cap: compares as the cap, reads as "10,000+"."""

    def __str__(self) -> str:
        return f"{int(self):,}+"


class CappedCountPaginator(Paginator):
    cap = COUNT_CAP

    @cached_property
    def count(self) -> int:
        found = self.object_list.order_by()[: self.cap + 1].count()
        return AtLeast(self.cap) if found > self.cap else found


class CappedChangeList(ChangeList):
    def get_results(self, request) -> None:
        super().get_results(request)
        # The paginator's count is the result count; a capped one keeps its "+" in every template.
        if isinstance(self.paginator.count, AtLeast):
            self.result_count = self.paginator.count


class BigTableAdminMixin:
    """For a ModelAdmin of a big table: a capped count, no full count. Keep `date_hierarchy` off (its
    links are a SELECT DISTINCT over every row of the period shown); a date list filter does the job."""

    paginator = CappedCountPaginator
    show_full_result_count = False

    def get_changelist(self, request, **kwargs):
        return CappedChangeList

    def action_checkbox(self, obj) -> str:
        # Django renders each row's checkbox through the forms' template engine: two thirds of the order
        # list's time at 100 rows (pyinstrument). The same markup, formatted directly.
        label = format_html(_("Select this object for an action - {}"), str(obj))
        return format_html('<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
                           helpers.ACTION_CHECKBOX_NAME, obj.pk, label)
