"""Let ``pytest --nbval-lax`` collect the book's MyST text notebooks (``chapters/**/*.md``).

nbval only collects ``.ipynb``. Here a ``.md`` file whose front matter names a ``kernelspec`` is read
through jupytext in memory (nothing is written to disk) and handed to nbval's own collector, so the
kernel, the cells and the ``--nbval-lax`` semantics are nbval's. The kernel's cwd is the ``.md``'s
folder, as in the book build.

With ``$NBVAL_EXECUTED_DIR`` set (``make book``), each page whose cells all passed is also written
there with the outputs nbval captured (:mod:`sgdsde.book.nbcache`), so that the book build renders
it from its cache instead of executing it a second time.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from unittest import mock

import pytest

try:  # nbval and jupytext are part of the book environment; unit tests alone do not need them
    import jupytext
    import nbval.plugin as nbval_plugin
except ImportError:  # pragma: no cover
    nbval_plugin = None


def is_text_notebook(path: Path) -> bool:
    """True if ``path`` is a MyST ``.md`` file with a jupytext/kernelspec header."""
    if path.suffix != ".md":
        return False
    head = path.read_text(encoding="utf-8")[:2000]
    return head.startswith("---") and "kernelspec:" in head.split("\n---", 1)[0]


if nbval_plugin is not None:

    class MystNotebookFile(nbval_plugin.IPyNbFile):
        """nbval's notebook file, read from a MyST text notebook through jupytext."""

        def collect(self):
            notebook = jupytext.read(str(self.fspath))
            # nbval reads the file with nbformat.read; hand it the converted notebook instead.
            with mock.patch.object(nbval_plugin.nbformat, "read", lambda *a, **k: notebook):
                self.book_cells = list(super().collect())
            self.book_failed = False
            self.book_t0 = None
            return self.book_cells

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(item, call):
        report = (yield).get_result()
        page = item.parent
        if isinstance(page, MystNotebookFile) and (report.failed or report.skipped):
            page.book_failed = True

    def pytest_runtest_setup(item):
        page = item.parent
        if isinstance(page, MystNotebookFile) and page.book_t0 is None:
            page.book_t0 = time.perf_counter()

    def pytest_runtest_teardown(item, nextitem):
        """After a page's last cell: stage the executed page for the book build's cache."""
        page = item.parent
        folder = os.environ.get("NBVAL_EXECUTED_DIR", "").strip()
        if not folder or not isinstance(page, MystNotebookFile):
            return
        if nextitem is not None and nextitem.parent is page:
            return
        outputs = [cell.test_outputs for cell in page.book_cells]
        if page.book_failed or any(o is None for o in outputs):
            return
        from sgdsde.book.nbcache import stage

        stage(Path(str(page.fspath)), outputs, time.perf_counter() - page.book_t0, folder)


def pytest_collect_file(file_path: Path, parent):
    opt = parent.config.option
    if nbval_plugin is None or not (opt.nbval or opt.nbval_lax):
        return None
    if is_text_notebook(file_path):
        return MystNotebookFile.from_parent(parent, path=file_path)
    return None
