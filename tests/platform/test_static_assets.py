"""Vendored static files are the versions requirements/static-assets.txt pins, byte for byte."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "requirements" / "static-assets.txt"


def pinned() -> list[tuple[str, str, Path, str]]:
    rows = []
    for line in MANIFEST.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            spec, path, digest = line.split()
            name, version = spec.split("==")
            rows.append((name, version, ROOT / path, digest))
    return rows


def test_the_manifest_pins_chartjs():
    assert [(name, path.name) for name, _, path, _ in pinned()] == [("chart.js", "chart.umd.min.js")]


@pytest.mark.parametrize(("name", "version", "path", "digest"), pinned(), ids=lambda v: str(v))
def test_each_vendored_file_is_its_pinned_version(name, version, path, digest):
    body = path.read_bytes()
    banner = re.search(rb"Chart\.js v(\d+\.\d+\.\d+)", body[:300])
    assert banner, f"{path} has no Chart.js banner"
    assert banner.group(1).decode() == version, f"{path} is not {name} {version}"
    assert hashlib.sha256(body).hexdigest() == digest, f"{path} changed since it was vendored"
    assert (path.parent / "LICENSE.md").read_text().startswith("The MIT License")
