"""Settings for the test suite: the real settings, with test-only defaults set before they are read.

Tests keep their own var/ folder, so the file cache and queue of a running development server are
never touched by a test run; the market calendar check is off (it has tests of its own).
"""
import os
from pathlib import Path

os.environ.setdefault("ALGODESK_VAR_DIR", str(Path(__file__).resolve().parent.parent / "var" / "test"))
os.environ.setdefault("ENFORCE_MARKET_HOURS", "false")

from config.settings import *  # noqa: F403
