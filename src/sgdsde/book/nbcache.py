"""Execute each chapter once: nbval's run of a page becomes the book build's cached execution.

``make book`` runs every page under ``pytest --nbval-lax`` (the gate: every cell, every
``assert``) with ``$NBVAL_EXECUTED_DIR`` set. The repository's ``conftest.py`` then writes each page
that passed, with the outputs nbval captured from the kernel, to that folder (:func:`stage`). This
module's command line moves the staged notebooks into the book's jupyter-cache
(:func:`import_staged`), and ``jupyter-book build`` (``execute_notebooks: cache``) finds every page
there, so it renders them without running them a second time. A page nbval did not stage (it
failed, or was skipped) is a cache miss: the build executes it and fails on its failing cell, as
before. The staged notebook is the page as myst-nb itself reads it (:func:`read_page`), so its
jupyter-cache hash (code cells, their metadata and the kernelspec) is the one the build looks up.

Command line::

    python -m sgdsde.book.nbcache STAGED_DIR CACHE_DIR

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> page = "---\\nkernelspec:\\n  name: python3\\n  display_name: Python 3\\n---\\n\\n# T\\n\\n"
>>> page += "```{code-cell} ipython3\\nx = 1 + 1\\nx\\n```\\n"
>>> with tempfile.TemporaryDirectory() as d:
...     md = Path(d, "p.md"); _ = md.write_text(page)
...     out = {"output_type": "execute_result", "execution_count": 1, "metadata": {},
...            "data": {"text/plain": "2"}}
...     _ = stage(md, [[out]], seconds=0.5, folder=Path(d, "staged"))
...     import_staged(Path(d, "staged"), Path(d, "cache"))
1
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["STAGE_ENV", "read_page", "stage", "import_staged"]

#: Environment variable naming the folder where ``conftest.py`` stages executed pages.
STAGE_ENV = "NBVAL_EXECUTED_DIR"


def read_page(md_path: str | os.PathLike):
    """The MyST text notebook at ``md_path`` as myst-nb's reader returns it (no outputs).

    Examples
    --------
    >>> nb = read_page(Path(__file__).parents[3] / "chapters" / "02_setup.md")
    >>> nb.metadata["kernelspec"]["name"], nb.cells[0].cell_type
    ('python3', 'markdown')
    """
    from myst_nb.core.read import read_myst_markdown_notebook
    from myst_parser.config.main import MdParserConfig

    path = Path(md_path)
    return read_myst_markdown_notebook(
        path.read_text(encoding="utf-8"),
        config=MdParserConfig(),
        add_source_map=True,
        path=str(path),
    )


def stage(
    md_path: str | os.PathLike,
    outputs: Sequence[Sequence[dict]],
    seconds: float,
    folder: str | os.PathLike,
) -> Path:
    """Write the page at ``md_path`` with ``outputs`` (one list of nbformat outputs per code
    cell, in order) to ``folder``; return the notebook's path. ``seconds``: its execution time.

    Raises
    ------
    ValueError
        If the number of output lists is not the page's number of code cells.

    Examples
    --------
    >>> stage(Path(__file__).parents[3] / "chapters" / "02_setup.md", [], 1.0, "/tmp")
    Traceback (most recent call last):
    ...
    ValueError: outputs has 0 lists for 02_setup.md's ... code cells
    """
    import nbformat

    md = Path(md_path).resolve()
    nb = read_page(md)
    code = [c for c in nb.cells if c.cell_type == "code"]
    if len(outputs) != len(code):
        raise ValueError(f"outputs has {len(outputs)} lists for {md.name}'s {len(code)} code cells")
    # What a kernel reports and nbclient stores: the build picks its code lexer from it.
    from ipykernel.ipkernel import IPythonKernel

    nb.metadata["language_info"] = dict(IPythonKernel.language_info)
    for count, (cell, outs) in enumerate(zip(code, outputs, strict=True), start=1):
        cell.outputs = [nbformat.from_dict(dict(o)) for o in outs]
        cell.execution_count = count
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{md.stem}.ipynb"
    nbformat.write(nb, target)
    target.with_suffix(".json").write_text(
        json.dumps({"uri": str(md), "execution_seconds": float(seconds)}), encoding="utf-8"
    )
    return target


def import_staged(staged: str | os.PathLike, cache: str | os.PathLike) -> int:
    """Add every notebook staged in ``staged`` to the jupyter-cache at ``cache``; return how many.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     import_staged(d, Path(d, "cache"))
    0
    """
    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    folder = Path(staged)
    if not folder.is_dir():
        raise FileNotFoundError(f"staged folder {folder} does not exist (did nbval run?)")
    jc = get_cache(str(cache))
    n = 0
    for ipynb in sorted(folder.glob("*.ipynb")):
        meta = json.loads(ipynb.with_suffix(".json").read_text(encoding="utf-8"))
        nb = nbformat.read(ipynb, as_version=4)
        bundle = CacheBundleIn(
            nb, meta["uri"], data={"execution_seconds": meta["execution_seconds"]}
        )
        jc.cache_notebook_bundle(bundle, check_validity=False, overwrite=True)
        n += 1
    return n


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m sgdsde.book.nbcache STAGED_DIR CACHE_DIR``.

    Examples
    --------
    >>> main(["/nonexistent/staged", "/tmp/c"])
    nbcache: staged folder /nonexistent/staged does not exist (did nbval run?)
    2
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print("usage: python -m sgdsde.book.nbcache STAGED_DIR CACHE_DIR")
        return 2
    try:
        n = import_staged(*args)
    except FileNotFoundError as e:
        print(f"nbcache: {e}")
        return 2
    print(f"nbcache: {n} executed pages from nbval added to {args[1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
