"""/api/docs/ (Swagger UI) needs nothing from outside: every file it loads is ours."""
import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

ASSET = re.compile(r'(?:src|href)="([^"]+)"')


def assets(html: str) -> list[str]:
    return [url for url in ASSET.findall(html) if not url.startswith("#")]


def assert_served_here(urls: list[str]) -> None:
    assert urls
    for url in urls:
        assert not re.match(r"^(https?:)?//", url), f"{url} comes from outside"
        if url.startswith("/static/"):
            assert finders.find(url.removeprefix("/static/").split("?")[0]), f"{url} is not a static file"


@pytest.mark.django_db
def test_it_serves_the_api_docs_from_static_files():
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    assert_served_here(assets(response.content.decode()))


@pytest.mark.django_db
def test_swagger_ui_loads_its_start_up_script_as_a_file_not_inline():
    html = Client().get("/api/docs/").content.decode()
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts
    assert all('src="' in attrs and not body.strip() for attrs, body in scripts)
    start_up = next(url for url in assets(html) if "script=" in url)
    response = Client().get(start_up.replace("&amp;", "&"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in response.content
    assert b"/api/schema/" in response.content
