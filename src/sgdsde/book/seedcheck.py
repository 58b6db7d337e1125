"""Rerun the chapters under nbval at other seeds and tabulate the checks that fail (``make seeds``).

Every chapter draws its randomness from ``SEED = page_seed(<default>)``, which the environment
variable ``BOOK_SEED`` overrides (:mod:`sgdsde.book.seeds`). A verdict must hold for *any* seed, so
this runner executes every notebook page of ``_toc.yml`` under ``pytest --nbval-lax`` once per seed
(``BOOK_SEED=<seed>``, pytest-xdist ``-n auto --dist loadfile`` as ``make nbval`` does), reads each
run's JUnit XML, and prints one table: chapter, cell, the claim id(s) that cell checks, and the
seeds at which it failed. nbval names a page's k-th *code* cell ``Cell k`` (from 0); jupytext reads
the same cells out of the MyST source, so each failure is mapped to its cell's ``claim("...")``
calls.

Command line::

    python -m sgdsde.book.seedcheck --n 5                # five seeds drawn at random (printed)
    python -m sgdsde.book.seedcheck --seeds 11 22 33     # given seeds
    python -m sgdsde.book.seedcheck --seeds 11 --chapters chapters/02_setup.md --workers 1

The exit status is 1 if any cell failed at any seed, else 0.

Examples
--------
>>> rows = failure_rows({11: [("chapters/a.md", 3)], 22: [("chapters/a.md", 3), ("chapters/b.md", 0)]},
...                     claims_of=lambda ch: {3: ["eq-7"]} if ch == "chapters/a.md" else {})
>>> print(format_table(rows, seeds=[11, 22, 33]))
chapter        cell    claim(s)  failed at seeds
chapters/a.md  Cell 3  eq-7      11, 22 (2/3)
chapters/b.md  Cell 0  —         22 (1/3)
"""

from __future__ import annotations

import argparse
import ast
import os
import random
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .ledger import find_root, toc_pages
from .seeds import ENV

__all__ = [
    "Row",
    "draw_seeds",
    "toc_notebooks",
    "code_cell_claims",
    "parse_junit",
    "failure_rows",
    "format_table",
    "run_seed",
    "main",
]

#: A failure that is not one cell's (collection error, kernel death, timeout of the whole run).
RUN = -1
_CELL = re.compile(r"^Cell (\d+)$")
_CLAIM = re.compile(r"""\bclaim\(\s*["']([^"']+)["']""")


@dataclass(frozen=True)
class Row:
    """One line of the table: a cell of a chapter and the seeds at which it failed.

    Examples
    --------
    >>> Row("chapters/a.md", 3, ("eq-7",), (11, 22)).cell_label
    'Cell 3'
    >>> Row("chapters/a.md", RUN, (), (11,)).cell_label
    '(whole run)'
    """

    chapter: str
    cell: int
    claims: tuple[str, ...]
    seeds: tuple[int, ...]

    @property
    def cell_label(self) -> str:
        return "(whole run)" if self.cell == RUN else f"Cell {self.cell}"


def draw_seeds(n: int, rng: random.Random | None = None) -> list[int]:
    """``n`` distinct seeds drawn at random in [1, 2³¹), so nobody picks them.

    Examples
    --------
    >>> s = draw_seeds(5, random.Random(0))
    >>> len(s), len(set(s)), all(1 <= x < 2**31 for x in s)
    (5, 5, True)
    >>> draw_seeds(0)
    Traceback (most recent call last):
    ...
    ValueError: n must be an int >= 1; got 0
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be an int >= 1; got {n!r}")
    rng = rng or random.SystemRandom()
    seeds: list[int] = []
    while len(seeds) < n:
        s = rng.randrange(1, 2**31)
        if s not in seeds:
            seeds.append(s)
    return seeds


def _is_text_notebook(path: Path) -> bool:
    if path.suffix != ".md" or not path.is_file():
        return False
    head = path.read_text(encoding="utf-8")[:2000]
    return head.startswith("---") and "kernelspec:" in head.split("\n---", 1)[0]


def toc_notebooks(root: str | os.PathLike | None = None) -> list[str]:
    """Paths (relative to the book root) of the notebook pages of ``_toc.yml``, in reading order.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "_toc.yml").write_text("root: intro\\nchapters:\\n  - file: a\\n")
    >>> _ = (d / "00_intro.md").write_text("# Prose only\\n")
    >>> _ = (d / "a.md").write_text("---\\nkernelspec:\\n  name: python3\\n---\\n# A\\n")
    >>> toc_notebooks(d)
    ['a.md']
    """
    root = Path(root) if root is not None else find_root()
    return [f"{p}.md" for p in toc_pages(root) if _is_text_notebook(root / f"{p}.md")]


def _claims_in(source: str) -> list[str]:
    """Claim ids of the ``claim("<id>", ...)`` calls of one cell (AST; regex if it does not parse)."""
    lines = ["" if ln.lstrip().startswith(("%", "!")) else ln for ln in source.split("\n")]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return _CLAIM.findall(source)
    out = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and node.args
            and (
                (isinstance(node.func, ast.Name) and node.func.id == "claim")
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "claim")
            )
        ):
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                out.append((node.lineno, first.value))
    return [cid for _, cid in sorted(out)]


def code_cell_claims(path: str | os.PathLike) -> dict[int, list[str]]:
    """For each code cell of a MyST notebook, numbered as nbval numbers them, its claim ids.

    Cells without a ``claim(...)`` call are left out.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.md"
    >>> _ = p.write_text('''---
    ... jupytext: {text_representation: {extension: .md, format_name: myst}}
    ... kernelspec: {name: python3, display_name: Python 3}
    ... ---
    ... # T
    ... ```{code-cell} ipython3
    ... x = 1
    ... ```
    ... Prose.
    ... ```{code-cell} ipython3
    ... claim("eq-1", verdict="holds")
    ... claim("eq-2", verdict="holds")
    ... assert x == 1
    ... ```
    ... ''')
    >>> code_cell_claims(p)
    {1: ['eq-1', 'eq-2']}
    """
    import jupytext

    nb = jupytext.read(str(path))
    code = [c for c in nb.cells if c.cell_type == "code"]
    return {k: ids for k, c in enumerate(code) if (ids := _claims_in(c.source))}


def parse_junit(path: str | os.PathLike, chapters: Iterable[str]) -> list[tuple[str, int]]:
    """The ``(chapter, cell)`` pairs that failed or errored in one pytest JUnit XML report.

    pytest writes a notebook ``chapters/x.md``'s cell as ``classname="chapters.x.md"``,
    ``name="Cell k"``; ``chapters`` (the paths that were run) resolves the dotted class name back to
    a path. A failure that is not a cell's (e.g. a collection error) gets cell ``RUN``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "r.xml"
    >>> _ = p.write_text('''<testsuites><testsuite>
    ... <testcase classname="chapters.a.md" name="Cell 0"/>
    ... <testcase classname="chapters.a.md" name="Cell 4"><failure message="x"/></testcase>
    ... <testcase classname="" name="chapters.b.md"><error message="collection"/></testcase>
    ... </testsuite></testsuites>''')
    >>> parse_junit(p, ["chapters/a.md", "chapters/b.md"])
    [('chapters/a.md', 4), ('chapters/b.md', -1)]
    """
    dotted = {c.replace("/", ".").replace(os.sep, "."): c for c in chapters}
    out: list[tuple[str, int]] = []
    for case in ET.parse(path).getroot().iter("testcase"):
        if case.find("failure") is None and case.find("error") is None:
            continue
        classname, name = case.get("classname", ""), case.get("name", "")
        chapter = dotted.get(classname) or dotted.get(name) or classname or name
        m = _CELL.match(name)
        out.append((chapter, int(m.group(1)) if m else RUN))
    return out


def failure_rows(
    results: dict[int, list[tuple[str, int]]], claims_of: Callable[[str], dict[int, list[str]]]
) -> list[Row]:
    """Group the failures of every seed by (chapter, cell), with each cell's claim ids.

    Parameters
    ----------
    results : dict
        ``{seed: [(chapter, cell), ...]}``, the failures of each seed's run.
    claims_of : callable
        ``chapter -> {cell: [claim ids]}``, e.g. :func:`code_cell_claims` on the chapter's path.

    Returns
    -------
    list of Row
        Sorted by chapter (in order of first appearance) and cell.

    Examples
    --------
    >>> failure_rows({5: [("c.md", 2)], 6: [("c.md", 2), ("c.md", 2)]}, lambda ch: {})
    [Row(chapter='c.md', cell=2, claims=(), seeds=(5, 6))]
    """
    by_cell: dict[tuple[str, int], list[int]] = {}
    order: dict[str, int] = {}
    for seed, fails in results.items():
        for chapter, cell in fails:
            order.setdefault(chapter, len(order))
            seeds = by_cell.setdefault((chapter, cell), [])
            if seed not in seeds:
                seeds.append(seed)
    cache: dict[str, dict[int, list[str]]] = {}
    rows = []
    for (chapter, cell), seeds in sorted(
        by_cell.items(), key=lambda kv: (order[kv[0][0]], kv[0][1])
    ):
        if chapter not in cache:
            try:
                cache[chapter] = claims_of(chapter)
            except Exception:  # an unreadable page still gets its row
                cache[chapter] = {}
        rows.append(Row(chapter, cell, tuple(cache[chapter].get(cell, [])), tuple(seeds)))
    return rows


def format_table(rows: Sequence[Row], seeds: Sequence[int]) -> str:
    """The table ``make seeds`` prints: chapter, cell, claim id(s), seeds that failed.

    Examples
    --------
    >>> print(format_table([], seeds=[1, 2]))
    no failing cell at 2 seed(s): 1, 2
    """
    if not rows:
        return f"no failing cell at {len(seeds)} seed(s): {', '.join(map(str, seeds))}"
    table = [("chapter", "cell", "claim(s)", "failed at seeds")]
    for r in rows:
        table.append(
            (
                r.chapter,
                r.cell_label,
                ", ".join(r.claims) or "—",
                f"{', '.join(map(str, r.seeds))} ({len(r.seeds)}/{len(seeds)})",
            )
        )
    widths = [max(len(row[k]) for row in table) for k in range(3)]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths)) + "  " + row[3]
        for row in table
    )


def run_seed(
    seed: int,
    chapters: Sequence[str],
    junit: str | os.PathLike,
    *,
    root: str | os.PathLike,
    workers: str = "auto",
    timeout: float | None = None,
) -> int:
    """Run ``chapters`` under ``pytest --nbval-lax`` with ``BOOK_SEED=seed``; return pytest's exit code.

    ``workers`` is pytest-xdist's ``-n`` (``"auto"``, a number, or ``"0"``/``"1"`` for no xdist).
    The JUnit XML report is written to ``junit``.

    Examples
    --------
    >>> run_seed(1, [], "report.xml", root=".")
    Traceback (most recent call last):
    ...
    ValueError: chapters must name at least one notebook; got []
    """
    if not chapters:
        # pytest with no paths would run the default test paths instead of any chapter
        raise ValueError(f"chapters must name at least one notebook; got {list(chapters)}")
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "--nbval-lax",
        "-p",
        "no:cacheprovider",
        f"--junitxml={junit}",
    ]
    if str(workers) in ("0", "1"):
        cmd += ["-p", "no:xdist"]
    else:
        cmd += ["-n", str(workers), "--dist", "loadfile"]
    env = dict(os.environ, **{ENV: str(seed)})
    try:
        done = subprocess.run(
            [*cmd, *chapters],
            cwd=root,
            env=env,
            timeout=timeout,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    except subprocess.TimeoutExpired:
        return 124
    tail = "\n".join(done.stdout.strip().splitlines()[-1:])
    print(f"   BOOK_SEED={seed}: pytest exit {done.returncode} ({tail})", flush=True)
    return done.returncode


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit status (1 if any cell failed at any seed).

    Examples
    --------
    >>> try:
    ...     main(["--seeds", "-1"])
    ... except SystemExit as exit:
    ...     print(exit.code)
    2
    """
    ap = argparse.ArgumentParser(
        prog="python -m sgdsde.book.seedcheck", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--seeds", type=int, nargs="+", help="seeds to run (default: --n random ones)")
    ap.add_argument(
        "--n", type=int, default=5, help="how many random seeds when --seeds is not given"
    )
    ap.add_argument(
        "--chapters", nargs="+", help="pages to run (default: every notebook of _toc.yml)"
    )
    ap.add_argument("--workers", default="auto", help="pytest-xdist -n (default auto)")
    ap.add_argument("--junit-dir", help="keep the JUnit reports here (default: a temporary folder)")
    ap.add_argument("--timeout", type=float, default=None, help="seconds per seed's run")
    args = ap.parse_args(argv)

    root = find_root()
    seeds = list(dict.fromkeys(args.seeds)) if args.seeds else draw_seeds(args.n)
    if any(s < 0 for s in seeds):
        ap.error(f"--seeds must be integers >= 0; got {seeds}")
    chapters = args.chapters or toc_notebooks(root)
    chapters = [
        Path(os.path.relpath(Path(c).resolve(), root.resolve())).as_posix() for c in chapters
    ]
    print(f"seeds: {' '.join(map(str, seeds))}  ({len(chapters)} chapters)", flush=True)
    junit_dir = Path(args.junit_dir or tempfile.mkdtemp(prefix="seedcheck-"))
    junit_dir.mkdir(parents=True, exist_ok=True)
    results: dict[int, list[tuple[str, int]]] = {}
    for seed in seeds:
        report = junit_dir / f"seed-{seed}.xml"
        rc = run_seed(seed, chapters, report, root=root, workers=args.workers, timeout=args.timeout)
        fails = parse_junit(report, chapters) if report.is_file() else []
        if rc != 0 and not fails:  # pytest failed without a failing cell: timeout, internal error
            fails = [(c, RUN) for c in chapters]
        results[seed] = fails
    rows = failure_rows(results, lambda ch: code_cell_claims(root / ch))
    print(format_table(rows, seeds))
    return 1 if rows else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
