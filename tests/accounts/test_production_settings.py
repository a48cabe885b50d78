"""Production (DEBUG off) refuses to start without its secrets, and starts when they are given."""
import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
SECRETS = ("SECRET_KEY", "FERNET_KEYS", "API_KEY_PEPPER")
SETUP = "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings'; django.setup()"


def run(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if k not in SECRETS and k != "DJANGO_SETTINGS_MODULE"}
    env.update(DEBUG="False", ALGODESK_VAR_DIR=str(tmp_path), **extra)
    return subprocess.run([sys.executable, "-c", SETUP], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60, check=False)


def test_it_refuses_to_start_without_the_secrets(tmp_path):
    result = run(tmp_path)
    assert result.returncode != 0
    for name in SECRETS:
        assert name in result.stderr
    assert not (tmp_path / "dev-secrets.env").exists()  # no development secrets made in production


def test_it_starts_when_the_secrets_are_given(tmp_path):
    result = run(tmp_path, SECRET_KEY="x" * 50, FERNET_KEYS=Fernet.generate_key().decode(),
                 API_KEY_PEPPER="pepper-" + "y" * 20)
    assert result.returncode == 0, result.stderr
