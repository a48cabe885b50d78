"""Retention: move (archive) or delete rows past a policy's window, in short batches.

A run walks the target's old rows in primary-key order, `batch_size` at a time (keyset: id > the last
one seen, up to the highest id that was old when the run began). Each batch is one transaction on the
target's database: find the batch's ids (locking them when rows can still change), copy them into the
archive table (INSERT ... SELECT by id, the same columns), copy their dependents (an order's trades),
then delete exactly those ids. A crash or an exception between or inside batches loses nothing: a
batch commits whole or not at all, and the next run starts again from the oldest row left. Rows a
user still needs (maintenance.targets, `keep`) are never in a batch.

Hand-written SQL (connection.cursor()) for the copy (INSERT ... SELECT: one statement instead of reading rows
into Python) and for the delete of tables nothing points at and no receiver listens to (the logs, bars);
other deletes (orders) go through the ORM, so cascades and signals behave as anywhere else.
"""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connections, models, transaction
from django.db.models import Max, signals
from django.utils import timezone

from maintenance.targets import ARCHIVE, Target

_SQLITE_CHUNK = 500  # ids per IN (...) on SQLite; PostgreSQL takes the whole batch as one array


@dataclass
class Outcome:
    """What one run did (or, dry, would do)."""

    target: str
    action: str
    dry_run: bool = False
    rows: int = 0
    batches: int = 0
    seconds: float = 0.0
    longest_batch_ms: float = 0.0
    batch_ms: list[float] = field(default_factory=list)  # each batch transaction's duration
    moved: Counter = field(default_factory=Counter)  # dependents archived with the rows, by model label
    cascaded: Counter = field(default_factory=Counter)  # rows deleted with them (an order's events), by label
    stopped: str = ""  # why it ended before the last batch (the time limit), if it did

    @property
    def median_batch_ms(self) -> float:
        ordered = sorted(self.batch_ms)
        return ordered[len(ordered) // 2] if ordered else 0.0

    def summary(self) -> str:
        verb = {ARCHIVE: "archived", "delete": "deleted"}[self.action]
        if self.dry_run:
            verb = f"would have {verb}"
        extra = [f"{n} {label} archived" for label, n in sorted(self.moved.items())]
        extra += [f"{n} {label} deleted" for label, n in sorted(self.cascaded.items())]
        text = (f"retention {self.target}: {verb} {self.rows} rows" + (f" (+{', '.join(extra)})" if extra else "")
                + f" in {self.batches} batches, {self.seconds:.1f} s, batch median {self.median_batch_ms:.0f} ms, "
                f"longest batch {self.longest_batch_ms:.0f} ms")
        return text + (f"; {self.stopped}" if self.stopped else "")


def cutoff_for(keep_days: int, now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(days=keep_days)


def count(target: Target, cutoff: datetime) -> int:
    """How many rows a run would take now (for a progress bar)."""
    return target.old_rows(cutoff).count()


def run(target: Target, *, keep_days: int, action: str, batch_size: int, dry_run: bool = False,
        deadline: float | None = None, on_batch: Callable[[Outcome, int], None] | None = None,
        now: datetime | None = None) -> Outcome:
    """Archive or delete the target's rows older than keep_days, batch by batch.

    `deadline` (time.monotonic()) stops the run between batches; `on_batch(outcome, rows)` is called
    after each committed batch (a progress bar; an exception there stops the run, nothing is lost)."""
    if action == ARCHIVE and not target.archive:
        raise ValueError(f"{target.name} has no archive table: its policy can only delete")
    cutoff = cutoff_for(keep_days, now)
    outcome = Outcome(target=target.name, action=action, dry_run=dry_run)
    model = target.get_model()
    # The highest id old at the start bounds the walk: rows written during the run are never scanned.
    upper = (model.objects.using(target.db).filter(**{f"{target.time_field}__lt": cutoff})
             .aggregate(top=Max("pk"))["top"])
    started, last = time.monotonic(), None
    while upper is not None:
        if deadline is not None and time.monotonic() >= deadline:
            outcome.stopped = "stopped at the time limit; the next run continues"
            break
        batch_started = time.monotonic()
        last, taken = _batch(target, cutoff, last, upper, action, batch_size, dry_run, outcome)
        if last is None:
            break
        outcome.batches += 1
        outcome.rows += taken
        outcome.batch_ms.append((time.monotonic() - batch_started) * 1000)
        outcome.longest_batch_ms = max(outcome.batch_ms)
        if on_batch is not None:
            on_batch(outcome, taken)
    outcome.seconds = time.monotonic() - started
    return outcome


def _batch(target: Target, cutoff: datetime, last: int | None, upper: int, action: str, batch_size: int,
           dry_run: bool, outcome: Outcome) -> tuple[int | None, int]:
    """One batch in its own transaction. Returns (the last id walked, rows taken); (None, 0) when done."""
    model = target.get_model()
    with transaction.atomic(using=target.db):
        qs = target.old_rows(cutoff).filter(pk__lte=upper)
        if last is not None:
            qs = qs.filter(pk__gt=last)
        if target.lock and not dry_run:
            qs = qs.select_for_update(of=("self",))
        ids = list(qs.order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            return None, 0
        taken = ids + _extra(target, model, ids, dry_run)
        for dependent in target.dependents:
            dep_model = _model(dependent.model)
            dep_qs = dep_model.objects.using(target.db).filter(**{f"{dependent.fk}__in": taken})
            if not dry_run:
                dep_qs = dep_qs.select_for_update()
            dep_ids = list(dep_qs.values_list("pk", flat=True))
            if dep_ids and not dry_run:
                _copy(target.db, dep_model, _model(dependent.archive), dep_ids)
                dep_model.objects.using(target.db).filter(pk__in=dep_ids).delete()
            outcome.moved[dependent.model] += len(dep_ids)
        if not dry_run:
            _archive_and_delete(target, model, taken, action, outcome)
    return ids[-1], len(taken)


def _archive_and_delete(target: Target, model: type[models.Model], ids: list[int], action: str,
                        outcome: Outcome) -> None:
    """Inside the batch's transaction: copy the rows to the archive (when archiving), then delete them."""
    if action == ARCHIVE:
        copied = _copy(target.db, model, target.get_archive(), ids)
        if copied != len(ids):  # cannot happen while the rows are locked or immutable; never guess
            raise RuntimeError(f"{target.name}: copied {copied} rows of {len(ids)}; batch rolled back")
    if _plain(model):
        _by_ids(target.db, "DELETE FROM {table} WHERE {pk}", model, ids)
        return
    _, by_model = model.objects.using(target.db).filter(pk__in=ids).delete()
    for label, n in by_model.items():
        if label != model._meta.label and n:
            outcome.cascaded[label] += n


def _extra(target: Target, model: type[models.Model], ids: list[int], dry_run: bool) -> list[int]:
    """Rows that must go with the batch's (a parent's legs), locked like them."""
    if target.expand is None:
        return []
    extra = [pk for pk in target.expand(ids) if pk not in set(ids)]
    if extra and target.lock and not dry_run:
        extra = list(model.objects.using(target.db).select_for_update().filter(pk__in=extra)
                     .values_list("pk", flat=True))
    return extra


def _model(label: str) -> type[models.Model]:
    from django.apps import apps

    return apps.get_model(label)


def _plain(model: type[models.Model]) -> bool:
    """True when deleting the model's rows is just a DELETE: no signal receivers and no row of another table
    pointing at it (what Django itself then does, minus compiling an IN list of thousands of ids, which
    bench/retention.py measured at 130-320 ms a batch against 12-25 ms for one array parameter)."""
    if signals.pre_delete.has_listeners(model) or signals.post_delete.has_listeners(model):
        return False
    return not any(f.auto_created and not f.concrete and (f.one_to_many or f.one_to_one)
                   for f in model._meta.get_fields(include_hidden=True))


def _copy(alias: str, source: type[models.Model], archive: type[models.Model], ids: Sequence[int]) -> int:
    """INSERT INTO archive (columns) SELECT columns FROM source WHERE id in ids; returns rows copied.
    (A single DELETE ... RETURNING feeding the INSERT measured no faster in bench/retention.py.)"""
    quote = connections[alias].ops.quote_name
    columns = ", ".join(quote(f.column) for f in source._meta.local_concrete_fields)
    insert = f"INSERT INTO {quote(archive._meta.db_table)} ({columns}) SELECT {columns} "  # names only: _by_ids
    return _by_ids(alias, insert + "FROM {table} WHERE {pk}", source, ids)


def _by_ids(alias: str, statement: str, model: type[models.Model], ids: Sequence[int]) -> int:
    """Run `statement` (ending in "WHERE {pk}") for the rows of `model` with these ids; returns rows affected.

    Identifiers come from the models' meta, quoted by the connection; the ids travel as parameters: one array
    on PostgreSQL, IN lists of at most _SQLITE_CHUNK elsewhere."""
    connection = connections[alias]
    quote = connection.ops.quote_name
    sql = statement.format(table=quote(model._meta.db_table), pk=quote(model._meta.pk.column))
    affected = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"{sql} = ANY(%s)", [list(ids)])
            return cursor.rowcount
        for start in range(0, len(ids), _SQLITE_CHUNK):
            chunk = ids[start:start + _SQLITE_CHUNK]
            cursor.execute(f"{sql} IN ({', '.join(['%s'] * len(chunk))})", chunk)
            affected += cursor.rowcount
    return affected
