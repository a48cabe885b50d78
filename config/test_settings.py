"""Settings for the test suite: the real settings, with test-only defaults set before they are read.

Each test process gets its own scratch var/ folder (file cache, queue, generated secrets), removed at
exit, so concurrent test runs and a running development server never clear each other's cache. The
market calendar check is off (it has tests of its own).
"""
import atexit
import os
import shutil
import tempfile

# A folder given by the caller is kept; one inherited from a parent test process (pytest-xdist
# workers) is not: every process gets its own, or their lock-out and rate counters would collide.
if "ALGODESK_VAR_DIR" not in os.environ or os.environ.get("ALGODESK_TEST_SCRATCH") == os.environ["ALGODESK_VAR_DIR"]:
    _scratch = tempfile.mkdtemp(prefix="algodesk-test-")
    atexit.register(shutil.rmtree, _scratch, ignore_errors=True)
    os.environ["ALGODESK_VAR_DIR"] = os.environ["ALGODESK_TEST_SCRATCH"] = _scratch
os.environ.setdefault("ENFORCE_MARKET_HOURS", "false")
# No log-writing thread: records wait in memory until a test calls analytics.buffer.flush() (which writes
# inside the test's transaction) and are discarded after each test (tests/conftest.py).
os.environ.setdefault("LOG_FLUSH_SECONDS", "0")

from config.settings import *  # noqa: F403
