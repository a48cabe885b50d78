"""Bookkeeping that an order's answer does not depend on, run once the answer has been sent.

The order views collect such work while they handle a request and run it when the WSGI server
closes the response (after the client has its bytes); outside a view (Celery, the shell, tests
calling services) it runs at once. A failure is logged: the answer is already on its way.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

log = logging.getLogger(__name__)

_pending: ContextVar[list[tuple[Callable[..., Any], tuple]] | None] = ContextVar("deferred_work", default=None)


def later(work: Callable[..., Any], *args: Any) -> None:
    """Run work(*args) after the response is sent, or now when no view collects."""
    pending = _pending.get()
    if pending is None:
        work(*args)
    else:
        pending.append((work, args))


@contextmanager
def collecting() -> Iterator[list[tuple[Callable[..., Any], tuple]]]:
    """Collect later() work for the code inside; the caller runs the list with run_all()."""
    pending: list[tuple[Callable[..., Any], tuple]] = []
    token = _pending.set(pending)
    try:
        yield pending
    finally:
        _pending.reset(token)


def run_all(pending: list[tuple[Callable[..., Any], tuple]]) -> None:
    while pending:
        work, args = pending.pop(0)
        try:
            work(*args)
        except Exception:
            log.exception("Deferred order bookkeeping failed: %s", getattr(work, "__qualname__", work))
