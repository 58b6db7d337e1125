"""The book's structure: every notebook page of the table of contents is run by nbval and checks something."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from conftest import is_text_notebook  # noqa: E402

#: Pages that are prose only (no code to run). Any other page must be a text notebook.
PROSE_PAGES = {"chapters/00_intro", "chapters/29_bibliography", "chapters/28_exec_times"}


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk({k: v for k, v in toc.items() if k != "root"})
    return [re.sub(r"\.(md|ipynb)$", "", f) for f in files]


def page_path(name: str) -> Path:
    path = ROOT / f"{name}.md"
    assert path.exists(), f"_toc.yml lists {name}, but {path} does not exist"
    return path


@pytest.fixture(scope="module")
def collected() -> str:
    """Node ids nbval collects from chapters/ (collection only, nothing is executed)."""
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "--nbval-lax", "chapters"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_toc_pages_exist():
    for name in toc_files():
        page_path(name)


def test_every_toc_page_is_a_notebook_or_declared_prose():
    for name in toc_files():
        if name not in PROSE_PAGES:
            assert is_text_notebook(page_path(name)), (
                f"{name}.md is in _toc.yml but has no jupytext/kernelspec header, so nbval would not run it; "
                "add the header or list it in PROSE_PAGES"
            )


def test_every_notebook_page_is_collected_by_nbval(collected):
    for name in toc_files():
        if is_text_notebook(page_path(name)):
            assert f"{name}.md::Cell 0" in collected, f"nbval did not collect {name}.md"


def test_every_notebook_page_asserts_something():
    for name in toc_files():
        path = page_path(name)
        if is_text_notebook(path):
            assert re.search(r"^\s*assert\b", path.read_text(), re.M), f"{name}.md has no assert"


# -- moved from chapters/14_open_questions.md: the research programme of notes §4 has its pages --------------
def test_research_programme_pages_treat_their_topic():
    programme = [("15_heavy_tails", "lévy"), ("16_deep_linear", "saxe"),
                 ("17_superposition", "superposition"), ("18_grokking", "grokking")]
    for page, word in programme:
        path = ROOT / "chapters" / f"{page}.md"
        assert path.is_file() and word in path.read_text(encoding="utf-8").lower(), (page, word)


def test_chapters_are_named_in_reading_order_with_the_notes_section_in_front_matter():
    """Files are NN_topic.md numbered in _toc.yml order; a title naming the notes' section carries
    the same section in its front matter (``notes_section``)."""
    pages = toc_files()
    numbers = []
    for page in pages:
        m = re.fullmatch(r"chapters/(\d{2})_[a-z][a-z0-9_]*", page)
        assert m, f"{page}: chapter files are named NN_topic.md"
        numbers.append(int(m.group(1)))
    assert numbers == list(range(len(pages))), f"numbers not in reading order: {numbers}"
    for page in pages:
        text = page_path(page).read_text(encoding="utf-8")
        title = re.search(r"^# (.*)$", text, flags=re.M)
        sec = re.search(r"\(notes (.+?)\)\s*$", title.group(1)) if title else None
        if sec is None:
            continue
        head = yaml.safe_load(text.split("\n---\n", 1)[0].removeprefix("---\n"))
        assert head.get("notes_section") == sec.group(1), (
            f"{page}: front matter notes_section {head.get('notes_section')!r} "
            f"does not match the title's {sec.group(1)!r}"
        )
