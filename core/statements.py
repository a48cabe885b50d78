"""Hot-path statements: SQL built once per model and shape, executed with the fields' own conversions.

The order path runs about ten statements per order. Through the ORM each costs 150-300 us of Python
to build and compile before the database sees it, several times what the database spends on it;
these helpers build the SQL text once (quoted by the connection, so it is right on PostgreSQL and
SQLite alike), keep it, and on each call only convert the values, exactly as the ORM would (every
value goes through the field's pre_save and get_db_prep_save on the way in, and the backend's and
the field's converters on the way out). They send no signals, so use them only for models that
have no receivers (the order path's books); everything else stays with the ORM.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple, TypeVar

from django.db import connections, models, router

M = TypeVar("M", bound=models.Model)

_SQL: dict[tuple, Any] = {}  # (alias, vendor, model, kind, shape) -> built statement


def _connection(model: type[models.Model], write: bool):
    alias = router.db_for_write(model) if write else router.db_for_read(model)
    return connections[alias]


def _insert_fields(model: type[models.Model]) -> list[models.Field]:
    opts = model._meta
    return [f for f in opts.local_concrete_fields if f is not opts.auto_field and not f.generated]


def _built(connection, model: type[models.Model], kind: str, shape: tuple, build) -> Any:
    key = (connection.alias, connection.vendor, model, kind, shape)
    found = _SQL.get(key)
    if found is None:
        found = _SQL[key] = build(connection.ops.quote_name)
    return found


def insert(obj: models.Model) -> models.Model:
    """INSERT one new row (every concrete field) and set its primary key, as save(force_insert=True)."""
    return insert_many([obj])[0]


def insert_many(objs: Sequence[M]) -> Sequence[M]:
    """INSERT new rows of one model in one statement; sets their primary keys where the database
    returns them (PostgreSQL, SQLite 3.35+), as bulk_create does."""
    model = type(objs[0])
    connection = _connection(model, write=True)
    fields = _insert_fields(model)
    pk = model._meta.pk
    features = connection.features
    can_return = features.can_return_rows_from_bulk_insert if len(objs) > 1 else features.can_return_columns_from_insert
    returning = model._meta.auto_field is not None and can_return

    def build(qn):
        row = "(" + ", ".join(["%s"] * len(fields)) + ")"
        table, names = qn(model._meta.db_table), ", ".join(qn(f.column) for f in fields)
        rows = ", ".join([row] * len(objs))
        sql = f"INSERT INTO {table} ({names}) VALUES {rows}"  # noqa: S608 (names from the model, quoted; values bound)
        return sql + f" RETURNING {qn(pk.column)}" if returning else sql

    sql = _built(connection, model, "insert", (len(objs), returning), build)
    for obj in objs:
        obj._prepare_related_fields_for_save(operation_name="insert")  # FKs to rows saved since assignment
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection=connection) for obj in objs for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if returning:
            for obj, (value,) in zip(objs, cursor.fetchall(), strict=True):
                setattr(obj, pk.attname, value)
        elif model._meta.auto_field is not None and len(objs) == 1:
            setattr(objs[0], pk.attname, connection.ops.last_insert_id(cursor, model._meta.db_table, pk.column))
    for obj in objs:
        obj._state.adding, obj._state.db = False, connection.alias
    return objs


def save(obj: models.Model) -> models.Model:
    """INSERT a new row or UPDATE every field of a saved one, as save()."""
    if obj._state.adding:
        return insert(obj)
    update(obj, [f.name for f in obj._meta.concrete_fields if not f.primary_key])
    return obj


def update(obj: models.Model, fields: Sequence[str]) -> int:
    """UPDATE the named fields of one saved row (auto_now fields are refreshed when named), as
    save(update_fields=...). Returns the number of rows changed (0 if the row is gone)."""
    model = type(obj)
    connection = _connection(model, write=True)
    opts = model._meta
    chosen = [opts.get_field(name) for name in fields]

    def build(qn):
        assignments = ", ".join(f"{qn(f.column)} = %s" for f in chosen)
        return f"UPDATE {qn(opts.db_table)} SET {assignments} WHERE {qn(opts.pk.column)} = %s"  # noqa: S608

    sql = _built(connection, model, "update", tuple(fields), build)
    params = [f.get_db_prep_save(f.pre_save(obj, False), connection=connection) for f in chosen]
    params.append(opts.pk.get_db_prep_value(obj.pk, connection))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def select_one(model: type[M], *, lock: bool = False, **where: Any) -> M | None:
    """The first row matching field = value for every keyword (no ordering: use it on a unique key),
    optionally locked FOR UPDATE (where the database has row locks; SQLite's IMMEDIATE transactions
    lock the whole database already). None when there is none."""
    connection = _connection(model, write=lock)
    opts = model._meta
    columns = list(opts.concrete_fields)
    keys = tuple(where)
    lookups = [opts.get_field(name) for name in keys]
    lock_sql = lock and connection.features.has_select_for_update

    def build(qn):
        table = qn(opts.db_table)
        conditions = " AND ".join(f"{table}.{qn(f.column)} = %s" for f in lookups)
        names = ", ".join(f"{table}.{qn(f.column)}" for f in columns)
        sql = f"SELECT {names} FROM {table} WHERE {conditions} LIMIT 1"  # noqa: S608
        converters = []  # (column index, its Col, the converters it needs): SQLite's decimals and dates
        for index, f in enumerate(columns):
            col = f.get_col(opts.db_table)
            found = connection.ops.get_db_converters(col) + f.get_db_converters(connection)
            if found:
                converters.append((index, col, found))
        return (sql + " FOR UPDATE" if lock_sql else sql), converters

    sql, converters = _built(connection, model, "select", (keys, lock_sql), build)
    params = [f.get_db_prep_value(f.get_prep_value(where[f.name if f.name in where else f.attname]), connection)
              for f in lookups]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row)
    for index, col, found in converters:
        for convert in found:
            values[index] = convert(values[index], col, connection)
    return model.from_db(connection.alias, [f.attname for f in columns], values)


# --- Several writes in one round trip ---------------------------------------------------------------
class Insert(NamedTuple):
    """New rows of one model, for write()."""

    objs: Sequence[models.Model]


class Update(NamedTuple):
    """Named fields of one saved row, for write()."""

    obj: models.Model
    fields: tuple[str, ...]


def write(ops: Sequence[Insert | Update]) -> None:
    """Run INSERTs and UPDATEs in order, as insert_many() and update() would one by one.

    On PostgreSQL they go as one statement (each a data-modifying WITH), so a fill's five writes cost
    one round trip. A foreign key to an object inserted earlier in `ops` (alone in its Insert) is
    resolved inside the statement; the new rows' keys are set afterwards. Elsewhere the writes run
    one after another."""
    connection = _connection(type(_first(ops[0])), write=True)
    if connection.vendor != "postgresql" or len(ops) == 1:
        for op in ops:
            if isinstance(op, Insert):
                insert_many(op.objs)
            else:
                update(op.obj, op.fields)
        return
    new = {id(op.objs[0]): index for index, op in enumerate(ops) if isinstance(op, Insert) and len(op.objs) == 1}
    plans = [_plan(op, index, new) for index, op in enumerate(ops)]
    shape = tuple(plan[0] for plan in plans)
    sql = _built(connection, type(_first(ops[0])), "write", shape, lambda qn: _write_sql(qn, ops, plans))
    params: list[Any] = []
    for op, (_, bound) in zip(ops, plans, strict=True):
        rows = op.objs if isinstance(op, Insert) else [op.obj]
        for obj, fields in zip(rows, bound, strict=True):
            params += [f.get_db_prep_save(f.pre_save(obj, isinstance(op, Insert)), connection=connection)
                       for f in fields]
        if isinstance(op, Update):
            params.append(op.obj._meta.pk.get_db_prep_value(op.obj.pk, connection))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        returned = cursor.fetchone()  # one array of new keys per Insert, in op order
    inserted = [op.objs for op in ops if isinstance(op, Insert)]
    for objs, keys in zip(inserted, returned if inserted else (), strict=True):
        for obj, pk in zip(objs, keys, strict=True):
            setattr(obj, obj._meta.pk.attname, pk)
            obj._state.adding, obj._state.db = False, connection.alias
    for op in ops:  # foreign keys that pointed at rows without a key until now
        for obj in op.objs if isinstance(op, Insert) else [op.obj]:
            _link_saved_relations(obj)


def _first(op: Insert | Update) -> models.Model:
    return op.objs[0] if isinstance(op, Insert) else op.obj


_RELATIONS: dict[type[models.Model], tuple[models.Field, ...]] = {}
_RELATION_IDS: dict[type[models.Model], frozenset[int]] = {}


def _relations(model: type[models.Model]) -> tuple[models.Field, ...]:
    """The model's foreign keys (looked up once per model)."""
    found = _RELATIONS.get(model)
    if found is None:
        found = _RELATIONS[model] = tuple(f for f in model._meta.concrete_fields if f.is_relation and f.many_to_one)
    return found


def _relation_ids(model: type[models.Model]) -> frozenset[int]:
    # Field.__eq__ and __hash__ are Python code: membership by identity is what the hot loop can afford.
    found = _RELATION_IDS.get(model)
    if found is None:
        found = _RELATION_IDS[model] = frozenset(id(f) for f in _relations(model))
    return found


def _link_saved_relations(obj: models.Model) -> None:
    for f in _relations(type(obj)):
        if f.is_cached(obj):
            related = f.get_cached_value(obj)
            if related is not None and related.pk is not None and getattr(obj, f.attname) != related.pk:
                setattr(obj, f.attname, related.pk)


def _plan(op: Insert | Update, index: int, new: dict[int, int]) -> tuple[tuple, list[list[models.Field]]]:
    """The op's shape (its SQL's cache key) and, per row, the fields sent as parameters; a foreign key to
    an object inserted earlier in the batch is written as a subquery on that insert instead."""
    rows = op.objs if isinstance(op, Insert) else [op.obj]
    model = type(rows[0])
    fields = _insert_fields(model) if isinstance(op, Insert) else [model._meta.get_field(n) for n in op.fields]
    refs, bound = [], []
    for obj in rows:
        _link_saved_relations(obj)
        row_refs, row_bound = [], []
        relations = _relation_ids(model)
        for f in fields:
            related = f.get_cached_value(obj, None) if id(f) in relations and f.is_cached(obj) else None
            target = new.get(id(related)) if related is not None and related.pk is None else None
            if target is not None and target < index:
                row_refs.append(target)
            else:
                if related is not None and related.pk is None:
                    raise ValueError(f"{model.__name__}.{f.name} refers to an object not inserted before it")
                row_refs.append(None)
                row_bound.append(f)
        refs.append(tuple(row_refs))
        bound.append(row_bound)
    kind = ("insert", model, tuple(refs)) if isinstance(op, Insert) else ("update", model, op.fields, tuple(refs))
    return kind, bound


def _write_sql(qn, ops: Sequence[Insert | Update], plans: list) -> str:
    parts, returning = [], []
    for index, (op, ((*_, refs), _)) in enumerate(zip(ops, plans, strict=True)):
        model = type(_first(op))
        opts = model._meta
        table, pk = qn(opts.db_table), qn(opts.pk.column)

        def value(ref):
            if ref is None:
                return "%s"
            return f"(SELECT {qn(type(_first(ops[ref]))._meta.pk.column)} FROM w{ref})"  # noqa: S608

        if isinstance(op, Insert):
            fields = _insert_fields(model)
            rows = ", ".join("(" + ", ".join(value(r) for r in row) + ")" for row in refs)
            names = ", ".join(qn(f.column) for f in fields)
            parts.append(f"w{index} AS (INSERT INTO {table} ({names}) VALUES {rows} RETURNING {pk})")  # noqa: S608
            returning.append(f"ARRAY(SELECT {pk} FROM w{index} ORDER BY {pk})")  # noqa: S608
        else:
            fields = [opts.get_field(name) for name in op.fields]
            sets = ", ".join(f"{qn(f.column)} = {value(r)}" for f, r in zip(fields, refs[0], strict=True))
            parts.append(f"w{index} AS (UPDATE {table} SET {sets} WHERE {pk} = %s RETURNING {pk})")  # noqa: S608
    # Every part runs whether or not the final SELECT reads it. It reads each insert's new keys as an
    # array in key order, which is VALUES order (the keys come from a sequence).
    return f"WITH {', '.join(parts)} SELECT {', '.join(returning) or 'NULL'}"
