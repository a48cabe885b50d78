"""Run test jobs in threads at once, each on its own database connection (closed at the end)."""
from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection


def run_together(jobs: list[Callable[[], None]], timeout: float = 120) -> list[BaseException]:
    """Start every job in its own thread, released together by a barrier; wait for all. Returns the
    errors the jobs raised (assert it is empty), so a failed assert in a thread fails the test."""
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(job: Callable[[], None]) -> None:
        try:
            barrier.wait()
            job()
        except Exception as exc:  # returned to the test, which asserts on it
            errors.append(exc)
        finally:
            connection.close()  # each thread had its own connection

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return errors
