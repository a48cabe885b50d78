"""Turns buffered records into rows (analytics.buffer calls write() off the request path).

Everything a row holds is redacted here, before it is written: paths, query strings, bodies, error
and log messages, log extras. Rows go in with one bulk INSERT per table (a COPY on PostgreSQL); tracker
hits are summed per (kind, address, day) first and each sum is one UPDATE (or INSERT), after which a
tracker over its limit bans the address (analytics.bans).
"""
from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connections, transaction
from django.db.models import F, Model

from analytics import bans
from analytics.models import ApiLog, InvalidKeyTracker, NotFoundTracker, SystemLog, TrafficLog
from analytics.routers import logs_db
from core import sql
from core.redaction import bound, redact_body, redact_path, redact_query, scrub_text

TRACKERS = {"notfound": NotFoundTracker, "invalid_key": InvalidKeyTracker}


def write(records: list[tuple]) -> None:
    traffic, api, system, hits = [], [], [], []
    for record in records:
        kind = record[0]
        if kind == "traffic":
            traffic.append(traffic_row(record[1]))
        elif kind == "api":
            api.append(api_row(record[1]))
        elif kind == "system":
            system.append(SystemLog(**record[1]))
        elif kind == "hit":
            hits.append(record[1:])
    db = logs_db()
    for model, rows in ((TrafficLog, traffic), (ApiLog, api), (SystemLog, system)):
        if rows:
            insert(model, rows, db)
    if hits:
        count_hits(hits)


def insert(model: type[Model], rows: list[Model], db: str) -> None:
    """bulk_create; on PostgreSQL one COPY instead, the values prepared by their fields as Django would:
    3 µs of CPU per row instead of 50 (bench/analytics.py), in the process that also serves requests."""
    connection = connections[db]
    if connection.vendor != "postgresql":
        model.objects.using(db).bulk_create(rows, batch_size=500)
        return
    fields = [field for field in sql.concrete_fields(model) if not field.primary_key]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    with connection.cursor() as cursor, cursor.copy(
            f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([field.get_db_prep_save(field.pre_save(row, True), connection) for field in fields])


def _error(text: str) -> str:
    return bound(scrub_text(text), 2000) if text else ""


def traffic_row(r: dict[str, Any]) -> TrafficLog:
    return TrafficLog(timestamp=r["timestamp"], client_ip=r["ip"], method=r["method"][:10],
                      path=bound(redact_path(r["path"]), 500), status=r["status"], duration_ms=r["duration_ms"],
                      host=scrub_text(r["host"])[:255], user_id=r["user_id"], username=r["username"][:150],
                      request_size=r["request_size"], response_size=r["response_size"], error=_error(r["error"]))


def api_row(r: dict[str, Any]) -> ApiLog:
    limit = settings.API_LOG_BODY_LIMIT
    request_body = redact_body(r["request_body"], r["request_type"], limit) if r["request_body"] else ""
    response_body = redact_body(r["response_body"], r["response_type"], limit) if r["response_body"] else ""
    if r["response_truncated"]:
        response_body = response_body or f"[{r['response_size']} bytes, not logged]"
    return ApiLog(timestamp=r["timestamp"], client_ip=r["ip"], user_id=r["user_id"], username=r["username"][:150],
                  key_prefix=_key_prefix(r), method=r["method"][:10], endpoint=bound(redact_path(r["path"]), 500),
                  status=r["status"], duration_ms=r["duration_ms"], broker=_broker(r),
                  query=bound(redact_query(r["query"]), limit), request_body=request_body,
                  response_body=response_body)


def _key_prefix(r: dict[str, Any]) -> str:
    """The public prefix of the key that authenticated the call (never of a key that failed)."""
    if not r["key_verified"]:
        return ""
    raw = r["header_key"]
    if not raw and r["request_body"]:
        try:
            body = json.loads(r["request_body"])
        except ValueError:
            body = None
        raw = body.get("apikey") if isinstance(body, dict) else None
    if not isinstance(raw, str):
        return ""
    prefix, dot, _ = raw.strip().partition(".")
    return prefix if dot and 0 < len(prefix) <= 16 and prefix.isalnum() else ""


def _broker(r: dict[str, Any]) -> str:
    """"sandbox" for a call answered in analyze mode, else the broker of the account the call named (or the
    user's primary account). Read here, off the request path; None of it is needed on the way in."""
    if not r["user_id"] or not r["path"].startswith("/api/v1/"):
        return ""
    if r["analyze"]:
        return "sandbox"
    from accounts.services.usersettings import is_analyze_mode
    from brokers.models import TradingAccount

    if is_analyze_mode(r["user_id"]):
        return "sandbox"
    name = None
    if r["request_body"]:
        try:
            body = json.loads(r["request_body"])
        except ValueError:
            body = None
        name = body.get("account") if isinstance(body, dict) and isinstance(body.get("account"), str) else None
    accounts = TradingAccount.objects.filter(user_id=r["user_id"], is_active=True)
    accounts = accounts.filter(name=name) if name else accounts.filter(is_primary=True)
    return (accounts.values_list("broker", flat=True).first() or "")[:32]


def count_hits(hits: list[tuple]) -> None:
    """Add tracker hits ((kind, ip, day, path, at), ...) and ban the addresses that reach their limit."""
    sums: dict[tuple, list] = defaultdict(lambda: [0, None, ""])
    for kind, ip, day, path, at in hits:
        entry = sums[(kind, ip, day)]
        entry[0] += 1
        if entry[1] is None or at >= entry[1]:
            entry[1], entry[2] = at, path
    for (kind, ip, day), (count, at, path) in sums.items():
        total = _add(TRACKERS[kind], ip, day, count, at, bound(redact_path(path), 500))
        limit = bans.limit_for(kind)
        if limit and total >= limit:
            bans.ban_for_tracker(kind, ip, total)


def _add(model, ip: str, day, count: int, at: datetime, path: str) -> int:
    """Add `count` to the (ip, day) row and return its new total, exact under concurrent writers: the
    UPDATE locks the row until the transaction ends, so the total read back is this writer's."""
    db = logs_db()
    rows = model.objects.using(db).filter(ip=ip, day=day)
    with transaction.atomic(using=db):
        if not rows.update(count=F("count") + count, last_at=at, last_path=path):
            try:
                with transaction.atomic(using=db):
                    model.objects.using(db).create(ip=ip, day=day, count=count, first_at=at, last_at=at,
                                                   last_path=path)
                return count
            except IntegrityError:  # another process created it first
                rows.update(count=F("count") + count, last_at=at, last_path=path)
        return rows.values_list("count", flat=True).get()
