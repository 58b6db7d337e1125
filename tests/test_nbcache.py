"""nbval's run of a page is the book build's cached execution (sgdsde.book.nbcache, conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  name: python3
  display_name: Python 3
---

# A page

```{code-cell} ipython3
:tags: [hide-input]
x = 6 * 7
print("x is", x)
```

```{code-cell} ipython3
assert x == 42
x
```
"""


def _nbval(folder: Path, staged: Path) -> subprocess.CompletedProcess:
    # The repository's conftest.py (the .md collector and the staging hooks) loaded as a plugin.
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    env = dict(os.environ, NBVAL_EXECUTED_DIR=str(staged), PYTHONPATH=path)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "--nbval-lax", "-p", "no:xdist",
         "-p", "no:cacheprovider", "-p", "conftest", "--rootdir", str(folder), str(folder)],
        cwd=folder, env=env, capture_output=True, text=True, timeout=240,
    )


def test_a_passing_page_is_staged_and_found_by_the_cache_a_failing_one_is_not(tmp_path):
    from jupyter_cache import get_cache

    from sgdsde.book.nbcache import import_staged, read_page

    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "good.md").write_text(PAGE)
    (pages / "bad.md").write_text(PAGE.replace("x == 42", "x == 41"))
    staged = tmp_path / "staged"
    run = _nbval(pages, staged)
    assert "1 failed" in run.stdout, run.stdout[-2000:]
    assert sorted(p.name for p in staged.glob("*.ipynb")) == ["good.ipynb"]
    assert import_staged(staged, tmp_path / "cache") == 1
    cache = get_cache(str(tmp_path / "cache"))
    _, nb = cache.merge_match_into_notebook(read_page(pages / "good.md"))
    outs = [c.outputs for c in nb.cells if c.cell_type == "code"]
    assert outs[0][0]["text"] == "x is 42\n"
    assert outs[1][0]["data"]["text/plain"] == "42"
    with pytest.raises(KeyError):
        cache.match_cache_notebook(read_page(pages / "bad.md"))
