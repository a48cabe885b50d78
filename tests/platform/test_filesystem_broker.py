"""The embedded Celery broker (kombu's filesystem transport) keeps every file under var/, none in the cwd."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Binding a queue to an exchange is what makes kombu write its exchange table (the "control folder");
# celery's worker and `celery inspect` do it for their broadcast (pidbox) queues.
BIND = f"""
import sys; sys.path.insert(0, {str(ROOT)!r})
import django; django.setup()
from kombu import Exchange, Queue
from config.celery import app
with app.connection_for_write() as conn:
    Queue("polish-probe", Exchange("polish-probe", type="fanout"))(conn.default_channel).declare()
"""


def test_it_keeps_the_filesystem_brokers_control_folder_under_var(tmp_path):
    var, cwd = tmp_path / "var", tmp_path / "cwd"
    cwd.mkdir()
    drop = ("REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE", "ALGODESK_TEST_SCRATCH")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", ALGODESK_VAR_DIR=str(var))
    result = subprocess.run([sys.executable, "-c", BIND], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert list(cwd.iterdir()) == []  # no control/ left where the process was started
    assert (var / "celery" / "control" / "polish-probe.exchange").exists()
