"""Query parameters the /api/analytics/ reports share: a grouping list, and `user` (operators only)."""
from __future__ import annotations

from collections.abc import Sequence

from rest_framework import serializers


def group_by(value: str, allowed: Sequence[str]) -> tuple[str, ...]:
    """"day,broker" -> the known names in `allowed`'s order; an unknown one is a 400 naming it."""
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in allowed]
    if unknown:
        raise serializers.ValidationError(f"unknown grouping {', '.join(unknown)}; choose among {', '.join(allowed)}.")
    return tuple(name for name in allowed if name in names)


def operator_only_user(serializer: serializers.Serializer, value: int) -> int:
    """Another user's id is for operators (staff) only; a trader may name themselves."""
    viewer = serializer.context["request"].user
    if value != viewer.pk and not viewer.is_staff:
        raise serializers.ValidationError("only operators may see another user's figures.")
    return value
