"""Per-request time spent at brokers, so order responses can say what the platform itself cost.

The order views open a timer around the request; the pipeline adds each broker round trip to it.
The view then answers with a Server-Timing header (broker, platform = total - broker, total), the
figures bench/order_path.py reads: unlike Order.overhead_ms, they include the final write and commit.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_broker_seconds: ContextVar[list[float] | None] = ContextVar("broker_seconds", default=None)


@contextmanager
def request_timer() -> Iterator[list[float]]:
    """Collect broker time for the code inside; yields a one-item list holding the seconds so far."""
    total = [0.0]
    token = _broker_seconds.set(total)
    try:
        yield total
    finally:
        _broker_seconds.reset(token)


def add_broker_time(seconds: float) -> None:
    total = _broker_seconds.get()
    if total is not None:
        total[0] += seconds


def server_timing(total_seconds: float, broker_seconds: float) -> str:
    """The Server-Timing header value (durations in milliseconds)."""
    return (f"broker;dur={broker_seconds * 1000:.3f}, platform;dur={(total_seconds - broker_seconds) * 1000:.3f}, "
            f"total;dur={total_seconds * 1000:.3f}")
