"""The system log: a logging handler that stores WARNING and above (SYSTEM_LOG_LEVEL) in SystemLog.

Attached to the root logger in settings.LOGGING, so every process (web, worker, beat, commands) records
its warnings and errors. emit() redacts the message, the traceback and the record's extras (warnings are
rare: this is cheap enough on the caller's thread) and hands them to the log buffer. Skipped: the analytics buffer's own
warnings (a failing write must not feed itself), and Django's per-request 4xx warnings
("Not Found: /x"), which the traffic log already holds one row each for.
"""
from __future__ import annotations

import logging
import traceback
from datetime import UTC, datetime
from typing import Any

from core.redaction import bound, redact, redact_path, scrub_text

# The attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}
_SKIP_LOGGERS = ("analytics.buffer", "analytics.writer")


class SystemLogHandler(logging.Handler):
    def __init__(self, level: int | str = logging.WARNING) -> None:
        super().__init__(level)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith(_SKIP_LOGGERS):
            return False
        if record.name in ("django.request", "django.server") and record.levelno < logging.ERROR:
            return False
        return super().filter(record)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            from analytics import buffer

            buffer.add(("system", entry(record)))
        except Exception:
            self.handleError(record)


def entry(record: logging.LogRecord) -> dict[str, Any]:
    """The SystemLog fields for a record, redacted and bounded."""
    data: dict[str, Any] = {}
    for name, value in vars(record).items():
        if name in _STANDARD or name.startswith("_") or name == "request":  # never a request's headers
            continue
        data[name] = value if isinstance(value, str | int | float | bool | type(None)) else repr(value)[:500]
    if record.exc_info and record.exc_info[0] is not None:
        data["traceback"] = bound("".join(traceback.format_exception(*record.exc_info)), 16_000)
    request = getattr(record, "request", None)
    path = getattr(request, "path", None)
    if isinstance(path, str):
        data["path"] = path
    data = redact(data)
    if isinstance(data.get("path"), str):
        data["path"] = redact_path(data["path"])
    try:
        message = record.getMessage()
    except Exception:
        message = str(record.msg)
    return {"timestamp": datetime.fromtimestamp(record.created, tz=UTC), "level": record.levelname[:10],
            "component": record.name[:200], "message": bound(scrub_text(message), 8000), "data": data}
