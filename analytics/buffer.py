"""The log buffer: requests hand their log records over in memory; a background thread writes them.

The request path only appends a tuple of plain values to a list (a few microseconds). A daemon thread
per process wakes every LOG_FLUSH_SECONDS (or sooner when LOG_FLUSH_BATCH records wait), takes
everything and writes it: redaction, JSON, one bulk INSERT per table, the trackers' counts (summed per
address first, so a scan of a thousand 404s is one UPDATE) and any ban they call for. The thread has
its own database connection, so a log write never joins a request's transaction.

Processes: the thread is started lazily by the first record in each process and again after a fork
(gunicorn and Celery's prefork workers fork after import; a child gets a fresh, empty buffer — the
parent's records are the parent's to write). On a normal exit (a gunicorn worker's graceful stop,
max_requests, a command's end) an atexit hook writes what is left; a killed process loses at most one
interval. When the buffer holds LOG_BUFFER_MAX records (the database is down), new ones are dropped
and counted, so memory stays bounded.

Tests: LOG_FLUSH_SECONDS=0 starts no thread; records stay in memory until flush() writes them on the
caller's thread and connection, inside the test's transaction (tests/conftest.py discards them after
each test).
"""
from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from django.conf import settings

log = logging.getLogger(__name__)  # the system-log handler ignores this logger (no loop when writes fail)


class LogBuffer:
    def __init__(self, writer: Callable[[list[tuple]], None]) -> None:
        self._writer = writer
        self._pid: int | None = None
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._records: list[tuple] = []
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.dropped = 0
        self._atexit = False

    # --- the request path -------------------------------------------------------------------------
    def add(self, record: tuple) -> None:
        if self._pid != os.getpid():
            self._start()
        with self._lock:
            if len(self._records) >= settings.LOG_BUFFER_MAX:
                self.dropped += 1
                return
            self._records.append(record)
            size = len(self._records)
        if size >= settings.LOG_FLUSH_BATCH:
            self._wake.set()

    # --- writing ----------------------------------------------------------------------------------
    def take(self) -> list[tuple]:
        with self._lock:
            records, self._records = self._records, []
        return records

    def flush(self) -> int:
        """Write every waiting record on this thread; returns how many. Never raises."""
        with self._flush_lock:
            records = self.take()
            if not records:
                return 0
            try:
                self._writer(records)
            except Exception as exc:  # the database is down or refused a row: drop this batch, say so once
                self.dropped += len(records)
                log.warning("analytics: %d log record(s) dropped: %s: %s", len(records), type(exc).__name__,
                            str(exc)[:300])
            return len(records)

    def discard(self) -> None:
        self.take()

    # --- the thread -------------------------------------------------------------------------------
    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            # A forked child inherits the parent's list and a possibly held lock: start afresh.
            self._lock = threading.Lock()
            self._flush_lock = threading.Lock()
            self._wake = threading.Event()
            self._records = []
            self._pid = os.getpid()
            self._thread = None
        if settings.LOG_FLUSH_SECONDS > 0:
            if not self._atexit:  # not in tests: their database is gone by the time atexit runs
                atexit.register(self.flush)
                self._atexit = True
            self._thread = threading.Thread(target=self._run, name="analytics-log-flush", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        from django.db import close_old_connections, connections

        interval = settings.LOG_FLUSH_SECONDS
        me = threading.current_thread()
        try:
            while self._thread is me:  # a stop() or a fork replaces it
                self._wake.wait(interval)
                self._wake.clear()
                self.flush()
                try:
                    close_old_connections()  # drop a broken or expired connection before the next batch
                except Exception as exc:
                    log.warning("analytics: log writer's connection: %s: %s", type(exc).__name__, str(exc)[:200])
        finally:
            connections.close_all()  # this thread's own connections

    def stop(self) -> None:
        """End the writing thread after its current pass (tests; a process's exit needs no call)."""
        self._thread = None
        self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._records)


def _write(records: list[tuple]) -> None:
    from analytics.writer import write

    write(records)


buffer = LogBuffer(_write)


def add(record: tuple) -> None:
    buffer.add(record)


def flush() -> int:
    return buffer.flush()


def pending() -> int:
    return buffer.pending


def snapshot() -> list[tuple[Any, ...]]:
    with buffer._lock:
        return list(buffer._records)
