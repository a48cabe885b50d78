"""Every page carries a Content-Security-Policy; production is clean under `check --deploy`, HSTS included."""
import os
import re
import secrets
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.contrib.staticfiles import finders
from django.test import Client

from tests.accounts.conftest import enroll, sign_in
from tests.factories import StaffFactory

ROOT = Path(__file__).resolve().parents[2]


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in header.split(";") if part.strip())}


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/", "/api/docs/", "/api/orders/",
                                  "/api/v1/ping"])
def test_it_sends_a_content_security_policy_on_every_page(path):
    response = Client().get(path)
    rules = policy(response)
    assert rules["default-src"] == ["'self'"]
    assert rules["object-src"] == ["'none'"]
    assert rules["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in rules["script-src"]
    assert "'unsafe-eval'" not in rules["script-src"]


@pytest.mark.django_db
def test_the_pages_inline_style_carries_the_policys_nonce():
    response = Client().get("/accounts/login/")
    nonce = re.search(r"<style nonce=\"([^\"]+)\">", response.content.decode()).group(1)
    assert f"'nonce-{nonce}'" in policy(response)["style-src"]
    assert "'unsafe-inline'" not in policy(response)["style-src"]


@pytest.mark.django_db(databases="__all__")  # the admin index reads the traffic log
def test_it_serves_a_favicon_and_every_page_links_it():
    operator = StaffFactory()
    staff = sign_in(Client(), operator, enroll(operator))
    response = Client().get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == "/static/algodesk/favicon.ico"
    assert finders.find("algodesk/favicon.ico")
    link = '<link rel="icon" href="/static/algodesk/favicon.ico">'
    assert link in Client().get("/accounts/login/").content.decode()
    assert link in Client().get("/admin/login/").content.decode()
    assert link in Client().get("/api/docs/").content.decode()
    assert link in staff.get("/admin/").content.decode()


def readme_production_environment() -> dict[str, str]:
    """The `export` lines of the README's production section, secrets filled in where it says `...`."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Running on PostgreSQL and Redis", 1)[1].split("\n## ", 1)[0]
    found = {}
    for line in section.splitlines():
        if line.startswith("export "):
            for word in shlex.split(line.removeprefix("export "), comments=True):
                name, _, value = word.partition("=")
                found[name] = value
    generated = {"FERNET_KEYS": Fernet.generate_key().decode()}
    return {name: generated.get(name, secrets.token_urlsafe(50)) if value == "..." else value
            for name, value in found.items()}


def test_the_readmes_production_settings_pass_check_deploy(tmp_path):
    documented = readme_production_environment()
    assert documented["DEBUG"] == "false"
    keep = {k: v for k, v in os.environ.items() if k.startswith(("PATH", "LANG", "HOME", "VIRTUAL_ENV", "PYTHON"))}
    env = {**keep, **documented, "ALGODESK_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_sends_hsts_over_https_only(tmp_path):
    probe = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "c = Client()\n"
        "print(c.get('/accounts/login/', secure=True).get('Strict-Transport-Security'))\n"
        "print(c.get('/accounts/login/', secure=False).status_code)\n"
    )
    env = {**os.environ, "DEBUG": "false", "SECRET_KEY": "k" * 50, "FERNET_KEYS": Fernet.generate_key().decode(),
           "API_KEY_PEPPER": "p" * 30, "ALLOWED_HOSTS": "testserver", "ALGODESK_VAR_DIR": str(tmp_path),
           "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3", "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    hsts, plain = result.stdout.strip().splitlines()[-2:]
    assert hsts == "max-age=31536000; includeSubDomains"
    assert plain == "301"  # plain HTTP is redirected to HTTPS, and gets no HSTS


@pytest.mark.django_db
def test_only_the_browsable_api_pages_allow_inline_styles():
    client = Client()
    client.force_login(StaffFactory())
    page = policy(client.get("/api/orders/", HTTP_ACCEPT="text/html"))
    assert "'unsafe-inline'" in page["style-src"]
    assert "'unsafe-inline'" not in page["script-src"]
    assert "'unsafe-inline'" not in policy(client.get("/api/orders/", HTTP_ACCEPT="application/json"))["style-src"]
    assert "'unsafe-inline'" not in policy(client.get("/accounts/"))["style-src"]
