"""Archive models: a table with the same columns as another, for rows that retention moves out of it.

`archive_model(Order, "OrderArchive", ...)` declares a model whose columns are the source's, by name
and database type, built from the source's fields (so the two cannot drift apart: a test compares
them). Differences, on purpose: the primary key keeps the source's values (not auto-numbered), and a
foreign key becomes a plain integer column of the same name (`user_id`): an archived row must neither
hold its user or account (no PROTECT, no cascade) nor break when they are deleted. No indexes but the
ones the caller names. Rows are copied with INSERT ... SELECT by maintenance.services.retention.
"""
from __future__ import annotations

from django.db import models


def archive_fields(source: type[models.Model]) -> dict[str, models.Field]:
    """The source's concrete columns as plain fields, by attribute name (`user_id` for `user`)."""
    fields: dict[str, models.Field] = {}
    # Forward fields only (local_concrete_fields, as core.statements): this runs while models load.
    for field in source._meta.local_concrete_fields:
        if field.primary_key:
            fields[field.attname] = models.BigIntegerField(primary_key=True, serialize=False)
        elif field.is_relation:
            fields[field.attname] = models.BigIntegerField(null=field.null, blank=field.null)
        else:
            _, _, args, kwargs = field.deconstruct()
            for key in ("auto_now", "auto_now_add", "db_index", "unique", "validators", "editable"):
                kwargs.pop(key, None)
            fields[field.attname] = type(field)(*args, **kwargs)
    return fields


def archive_model(source: type[models.Model], name: str, *, module: str, doc: str,
                  indexes: list[models.Index] | None = None, verbose_name: str = "") -> type[models.Model]:
    """A model named `name` in `module` (the app's models module) with the source's columns."""
    meta = type("Meta", (), {"indexes": indexes or [], "ordering": ["-pk"],
                             "verbose_name": verbose_name or f"archived {source._meta.verbose_name}"})
    attrs = {"__module__": module, "__doc__": doc, "Meta": meta, **archive_fields(source)}
    return type(name, (models.Model,), attrs)
