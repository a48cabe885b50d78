"""/api/v1/market/holidays and /api/v1/market/timings from the market calendar (times in epoch ms)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from django.urls import re_path
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from trading.openalgo_api import shapes
from trading.openalgo_api.base import OpenAlgoView
from trading.services import calendar

# OpenAlgo's bounds; outside them the calendar holds nothing worth asking for.
FIRST_YEAR, LAST_YEAR = 2020, 2050


class HolidaysRequest(serializers.Serializer):
    year = serializers.IntegerField(required=False, min_value=FIRST_YEAR, max_value=LAST_YEAR)


def holiday_dict(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "date": entry["date"].isoformat(),
        "description": entry["description"],
        "holiday_type": entry["holiday_type"],
        "closed_exchanges": list(entry["closed_exchanges"]),
        "open_exchanges": [
            {"exchange": row["exchange"], "start_time": shapes.epoch_ms(row["start_time"]),
             "end_time": shapes.epoch_ms(row["end_time"])}
            for row in entry["open_exchanges"]
        ],
    }


class HolidaysView(OpenAlgoView):
    serializer_class = HolidaysRequest

    def handle(self, request: Request, data: dict[str, Any]) -> Response:
        year = data.get("year") or dt.datetime.now(shapes.IST).year
        entries = [holiday_dict(e) for e in calendar.holidays(year)]
        return self.success(request, year=year, timezone=str(shapes.IST), data=entries)


class TimingsRequest(serializers.Serializer):
    date = serializers.DateField(input_formats=["%Y-%m-%d"], error_messages={
        "invalid": "use the format YYYY-MM-DD."})

    def validate_date(self, value: dt.date) -> dt.date:
        if not FIRST_YEAR <= value.year <= LAST_YEAR:
            raise serializers.ValidationError(f"must be between {FIRST_YEAR}-01-01 and {LAST_YEAR}-12-31.")
        return value


class TimingsView(OpenAlgoView):
    """Each trading exchange's session that day; an empty list when every exchange is closed."""

    serializer_class = TimingsRequest

    def handle(self, request: Request, data: dict[str, Any]) -> Response:
        rows = [{"exchange": row["exchange"], "start_time": shapes.epoch_ms(row["start"]),
                 "end_time": shapes.epoch_ms(row["end"])} for row in calendar.timings(data["date"])]
        return self.success(request, data=rows)


urlpatterns = [
    re_path(r"^market/holidays/?$", HolidaysView.as_view(), name="market_holidays"),
    re_path(r"^market/timings/?$", TimingsView.as_view(), name="market_timings"),
]
