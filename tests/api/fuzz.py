"""Helpers of the bounded fuzz runs (test_fuzz_*.py): how many cases, and how they run.

The suite's run is deterministic (the same cases every run, so CI never fails by chance) and small: a
few seconds per API. `FUZZ_EXAMPLES=500 FUZZ_RANDOM=1 pytest tests/api -k fuzz` explores further.
"""
from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, settings


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=int(os.environ.get("FUZZ_EXAMPLES", examples)),
        derandomize=os.environ.get("FUZZ_RANDOM") != "1",
        deadline=None,
        database=None,  # nothing written under the repository
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )


def assert_no_server_error(response: Any, request: str) -> None:
    """No 5xx, except 501: a broker without the operation (the sandbox has no history), as OpenAlgo answers.

    (The test client re-raises a view's exception: callers turn it into a failure naming the request.)
    """
    assert response.status_code < 500 or response.status_code == 501, \
        f"{response.status_code} for {request}:\n{response.content[:2000]!r}"
