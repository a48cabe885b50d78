"""Several writes of the order path in one round trip on PostgreSQL: explicit SQL where the bench shows
it pays (docs/order-pipeline.md, "Keeping it fast").

A sandbox order that fills writes five rows (the order, its position, the trade, the funds and their
ledger) and the trading book two (the order and its event). One statement each costs a round trip and
the ORM's compiling of it; on a loaded server that was half the order path's throughput. write() sends
them as one statement on PostgreSQL (a data-modifying WITH per write), built from the models' public
metadata (`_meta.get_field(s)`, each field's `column`, `pre_save()` and `get_db_prep_save()`), the text
kept per shape.

locked_row() reads a row FOR UPDATE through Manager.raw() with its SQL kept per model and key.

It never skips a signal silently: a model with pre_save or post_save receivers, and every database
but PostgreSQL, go through the ORM (save(), bulk_create()), one statement per write.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db import connections, models, router
from django.db.models.signals import post_save, pre_save


class Insert(NamedTuple):
    """New rows of one model (their primary keys are set once written)."""

    objs: Sequence[models.Model]


class Update(NamedTuple):
    """The named fields of one saved row."""

    obj: models.Model
    fields: tuple[str, ...]


Write = Insert | Update
M = TypeVar("M", bound=models.Model)
_SQL: dict[tuple, str] = {}  # (alias, shape) -> statement text
_COLUMNS: dict[type[models.Model], tuple[models.Field, ...]] = {}


def locked_row(model: type[M], **where: int | str) -> M | None:
    """The row whose fields equal `where` (a unique key: at most one), locked FOR UPDATE where the
    database has row locks (SQLite's IMMEDIATE transactions lock the whole database already); None if
    there is none. Call inside a transaction.

    Through Manager.raw() with SQL built once per model and key: the ORM's compiling of
    select_for_update().get() cost twice the statement on every order (the bench). The values are
    plain ints and strings, bound as parameters."""
    connection = connections[router.db_for_write(model)]
    key = (connection.alias, model, "lock", tuple(where))
    sql = _SQL.get(key)
    if sql is None:
        qn, opts = connection.ops.quote_name, model._meta
        names = ", ".join(qn(f.column) for f in concrete_fields(model))
        conditions = " AND ".join(f"{qn(opts.get_field(name).column)} = %s" for name in where)
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        sql = _SQL[key] = f"SELECT {names} FROM {qn(opts.db_table)} WHERE {conditions}{lock}"  # noqa: S608
    return next(iter(model.objects.raw(sql, list(where.values()))), None)


def _model(op: Write) -> type[models.Model]:
    return type(op.objs[0] if isinstance(op, Insert) else op.obj)


def concrete_fields(model: type[models.Model]) -> tuple[models.Field, ...]:
    """The model's fields that are columns of its table, the primary key included."""
    return tuple(f for f in model._meta.get_fields() if getattr(f, "concrete", False) and getattr(f, "column", None))


def _insert_fields(model: type[models.Model]) -> tuple[models.Field, ...]:
    """The columns an INSERT writes: every concrete field but an auto-incremented key."""
    found = _COLUMNS.get(model)
    if found is None:
        found = _COLUMNS[model] = tuple(f for f in concrete_fields(model)
                                        if not isinstance(f, models.AutoField | models.GeneratedField))
    return found


def _by_orm(op: Write) -> None:
    if isinstance(op, Update):
        op.obj.save(update_fields=op.fields)
    elif len(op.objs) == 1:
        op.objs[0].save(force_insert=True)
    else:
        type(op.objs[0]).objects.bulk_create(op.objs)


def write(ops: Sequence[Write]) -> None:
    """Run the writes in order, as the ORM would one by one (a row may refer to a row inserted before
    it in `ops`); one statement on PostgreSQL when no model in it has save receivers."""
    ops = [op for op in ops if not isinstance(op, Insert) or op.objs]
    if not ops:
        return
    connection = connections[router.db_for_write(_model(ops[0]))]
    if connection.vendor != "postgresql" or len(ops) == 1 or any(
            pre_save.has_listeners(_model(op)) or post_save.has_listeners(_model(op)) for op in ops):
        for op in ops:
            _by_orm(op)
        return
    new = {id(obj): index for index, op in enumerate(ops) if isinstance(op, Insert) for obj in op.objs}
    shapes, params, links = [], [], []
    for index, op in enumerate(ops):
        shape, values = _plan(op, index, new, connection, links)
        shapes.append(shape)
        params += values
    key = (connection.alias, tuple(shapes))
    sql = _SQL.get(key)
    if sql is None:
        sql = _SQL[key] = _statement(connection.ops.quote_name, ops, shapes)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        keys = cursor.fetchone()  # one array of new keys per Insert, in op order
    inserts = [op for op in ops if isinstance(op, Insert)]
    for op, values in zip(inserts, keys, strict=True):
        pk = _model(op)._meta.pk.attname
        for obj, value in zip(op.objs, values, strict=True):
            setattr(obj, pk, value)
    for obj, attname, related in links:  # keys that pointed at rows without one until now, as save() sets them
        setattr(obj, attname, related.pk)


def _plan(op: Write, index: int, new: dict[int, int], connection, links: list) -> tuple[tuple, list[Any]]:
    """The op's shape (its SQL's cache key) and its parameters. A foreign key to a row inserted earlier in
    the same statement is written as a subquery on that insert (`ref` in the shape) instead of a value."""
    model = _model(op)
    add = isinstance(op, Insert)
    fields = _insert_fields(model) if add else tuple(model._meta.get_field(name) for name in op.fields)
    rows, values = [], []
    for obj in op.objs if add else [op.obj]:
        refs = []
        for f in fields:
            ref = None
            if f.many_to_one and getattr(obj, f.attname) is None:
                try:
                    related = getattr(obj, f.name)  # the object assigned, if any (None otherwise: no query)
                except ObjectDoesNotExist:  # a required key left empty: the database will say so
                    related = None
                if related is not None:
                    if related.pk is not None:
                        setattr(obj, f.attname, related.pk)
                    else:
                        ref = new.get(id(related))
                        if ref is None or ref >= index:
                            raise ValueError(f"{model.__name__}.{f.name} refers to a row not written before it")
                        links.append((obj, f.attname, related))
            refs.append(ref)
            if ref is None:
                values.append(f.get_db_prep_save(f.pre_save(obj, add), connection=connection))
        rows.append(tuple(refs))
    if not add:
        values.append(model._meta.pk.get_db_prep_value(op.obj.pk, connection))
    return (model, add, tuple(f.column for f in fields), tuple(rows)), values


def _statement(qn, ops: Sequence[Write], shapes: list[tuple]) -> str:
    parts, returning = [], []
    for index, (model, add, columns, rows) in enumerate(shapes):
        table, pk = qn(model._meta.db_table), qn(model._meta.pk.column)

        def value(ref: int | None) -> str:
            if ref is None:
                return "%s"
            return f"(SELECT {qn(_model(ops[ref])._meta.pk.column)} FROM w{ref})"  # noqa: S608

        if add:
            values = ", ".join("(" + ", ".join(value(r) for r in row) + ")" for row in rows)
            names = ", ".join(qn(c) for c in columns)
            parts.append(f"w{index} AS (INSERT INTO {table} ({names}) VALUES {values} RETURNING {pk})")  # noqa: S608
            # New keys come from a sequence, so key order is VALUES order.
            returning.append(f"ARRAY(SELECT {pk} FROM w{index} ORDER BY {pk})")  # noqa: S608
        else:
            sets = ", ".join(f"{qn(c)} = {value(r)}" for c, r in zip(columns, rows[0], strict=True))
            parts.append(f"w{index} AS (UPDATE {table} SET {sets} WHERE {pk} = %s RETURNING {pk})")  # noqa: S608
    # Every part runs whether or not the final SELECT reads it (PostgreSQL's rule for data-modifying WITH).
    return f"WITH {', '.join(parts)} SELECT {', '.join(returning) or 'NULL'}"
