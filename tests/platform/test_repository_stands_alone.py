"""The repository stands alone: nothing points outside it, and the README's and docs/' links resolve."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKIP = {".venv", "var", ".git", "node_modules", "__pycache__", ".ruff_cache", ".pytest_cache", ".hypothesis"}
TEXT = {".py", ".md", ".txt", ".toml", ".html", ".cfg", ".ini", ".yml", ".yaml", ".sh", ""}
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def project_files():
    for path in ROOT.rglob("*"):
        if path.is_file() and not SKIP.intersection(path.relative_to(ROOT).parts) and path.suffix in TEXT:
            yield path


def test_nothing_points_outside_the_repository():
    outside = [str(p.relative_to(ROOT)) for p in project_files()
               if p != Path(__file__) and "../shared" in p.read_text(errors="ignore")]
    assert outside == []


def test_the_docs_exist_and_their_links_resolve():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    names = {p.name for p in pages}
    assert {"architecture.md", "order-pipeline.md", "conventions.md", "openalgo-api.md",
            "contributing.md"} <= names
    for page in pages:
        for target in LINK.findall(page.read_text()):
            if not target.startswith(("http://", "https://", "mailto:")):
                assert (page.parent / target).exists(), f"{page.relative_to(ROOT)} links to missing {target}"
    assert "docs/" in (ROOT / "README.md").read_text()
