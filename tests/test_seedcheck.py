"""`make seeds` (sgdsde.book.seedcheck): JUnit parsing, cell → claim mapping and the table.

All on a tiny fake notebook; one end-to-end run executes that notebook (not a real chapter) under
nbval at two seeds, one of which makes a cell fail.
"""
from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from sgdsde.book import seedcheck as sc

ROOT = Path(__file__).resolve().parents[1]

FAKE = """---
jupytext:
  text_representation: {extension: .md, format_name: myst, format_version: 0.13}
kernelspec: {name: python3, display_name: Python 3}
---
# Fake chapter

```{code-cell} ipython3
:tags: [parameters]
import os
SEED = int(os.environ.get("BOOK_SEED", "0"))
```

Prose between cells; nbval numbers code cells only.

```{code-cell} ipython3
# Checks notes (1) and (2).
claim = lambda *a, **k: None
claim("eq-1", verdict="holds")
claim("eq-2", verdict="holds")
assert SEED % 2 == 0, "odd seeds fail"
```

```{code-cell} ipython3
if True:
    claim("eq-3", verdict="holds")  # a nested call still names its cell's claim
assert True
```
"""

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="1" failures="2" tests="5">
<testcase classname="chapters.fake.md" name="Cell 0" time="0.1"/>
<testcase classname="chapters.fake.md" name="Cell 1" time="0.1"><failure message="odd">x</failure></testcase>
<testcase classname="chapters.fake.md" name="Cell 2" time="0.1"><skipped message="s"/></testcase>
<testcase classname="chapters.other.md" name="Cell 7" time="0.1"><error message="kernel died"/></testcase>
<testcase classname="" name="chapters.broken.md"><error message="collection failure"/></testcase>
</testsuite></testsuites>
"""


@pytest.fixture()
def fake_book(tmp_path: Path) -> Path:
    (tmp_path / "chapters").mkdir()
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: chapters/00_intro\nchapters:\n"
                                       "  - file: chapters/fake\n")
    (tmp_path / "chapters" / "00_intro.md").write_text("# Intro, prose only\n")
    (tmp_path / "chapters" / "fake.md").write_text(FAKE)
    return tmp_path


def test_cells_are_numbered_as_nbval_numbers_them(fake_book: Path):
    assert sc.code_cell_claims(fake_book / "chapters" / "fake.md") == {1: ["eq-1", "eq-2"], 2: ["eq-3"]}


def test_toc_notebooks_skip_prose_pages(fake_book: Path):
    assert sc.toc_notebooks(fake_book) == ["chapters/fake.md"]


def test_junit_failures_and_errors_are_read(tmp_path: Path):
    report = tmp_path / "r.xml"
    report.write_text(JUNIT)
    fails = sc.parse_junit(report, ["chapters/fake.md", "chapters/other.md", "chapters/broken.md"])
    assert fails == [("chapters/fake.md", 1), ("chapters/other.md", 7), ("chapters/broken.md", sc.RUN)]


def test_table_groups_seeds_per_cell_with_its_claims(fake_book: Path):
    results = {11: [("chapters/fake.md", 1)], 22: [], 33: [("chapters/fake.md", 1), ("chapters/fake.md", 2)]}
    rows = sc.failure_rows(results, lambda ch: sc.code_cell_claims(fake_book / ch))
    assert rows == [sc.Row("chapters/fake.md", 1, ("eq-1", "eq-2"), (11, 33)),
                    sc.Row("chapters/fake.md", 2, ("eq-3",), (33,))]
    table = sc.format_table(rows, seeds=[11, 22, 33]).splitlines()
    assert table[0].split() == ["chapter", "cell", "claim(s)", "failed", "at", "seeds"]
    assert table[1].split() == ["chapters/fake.md", "Cell", "1", "eq-1,", "eq-2", "11,", "33", "(2/3)"]
    assert table[2].split() == ["chapters/fake.md", "Cell", "2", "eq-3", "33", "(1/3)"]
    assert sc.format_table([], seeds=[11, 22]).startswith("no failing cell at 2 seed(s)")


def test_unreadable_page_still_gets_a_row():
    def boom(chapter):
        raise OSError("gone")
    assert sc.failure_rows({1: [("x.md", 0)]}, boom) == [sc.Row("x.md", 0, (), (1,))]


def test_seeds_are_drawn_distinct_and_validated():
    seeds = sc.draw_seeds(10, random.Random(1))
    assert len(set(seeds)) == 10
    with pytest.raises(ValueError, match="n must be"):
        sc.draw_seeds(-1)


@pytest.mark.skipif(shutil.which("true") is None, reason="needs a POSIX shell")
def test_end_to_end_on_the_fake_book(fake_book: Path, monkeypatch, capsys):
    """Seeds 2 and 3: the fake cell asserts an even seed, so only seed 3 fails, in Cell 1."""
    pytest.importorskip("nbval")
    shutil.copy(ROOT / "conftest.py", fake_book / "conftest.py")
    monkeypatch.chdir(fake_book)
    rc = sc.main(["--seeds", "2", "3", "--workers", "1", "--junit-dir", str(fake_book / "junit")])
    out = capsys.readouterr().out
    assert rc == 1, out
    lines = out.strip().splitlines()
    assert lines[0].startswith("seeds: 2 3"), out
    assert lines[-1].split() == ["chapters/fake.md", "Cell", "1", "eq-1,", "eq-2", "3", "(1/2)"], out
