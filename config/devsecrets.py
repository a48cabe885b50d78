"""Development secrets, generated once into var/dev-secrets.env so a fresh clone runs unconfigured.

Only read when DEBUG is on. Production must pass SECRET_KEY, FERNET_KEYS and API_KEY_PEPPER in the
environment; settings.py refuses to start without them.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet

NAMES = ("SECRET_KEY", "FERNET_KEYS", "API_KEY_PEPPER")


def _generate() -> str:
    return (
        "# Generated once for development by config/devsecrets.py. Never commit; never use in production.\n"
        f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
        f"FERNET_KEYS={Fernet.generate_key().decode()}\n"
        f"API_KEY_PEPPER={secrets.token_urlsafe(32)}\n"
    )


def ensure(path: Path) -> Path:
    """Create the file atomically if it is missing (web, worker and beat may start at once)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(_generate())
        os.chmod(tmp, 0o600)
        try:
            # link() fails if another process won the race; theirs is kept, so all agree.
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    return path
