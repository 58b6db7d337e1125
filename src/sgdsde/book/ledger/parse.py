"""Find the ``claim(...)`` calls of the chapters *statically*, and the pages of the book.

Parsing is done with Python's ``ast`` module on each code cell, so a call hidden in a loop, split
over several lines or built from variables is *reported* as a problem rather than silently missed.
The pages are those of ``_toc.yml``, in reading order.

Examples
--------
>>> from sgdsde.book.ledger.parse import count_claim_tokens
>>> count_claim_tokens('claim("eq-1", verdict="holds")')
1
"""

from __future__ import annotations

import ast
import io
import os
import re
import tokenize
from collections import Counter
from pathlib import Path
from typing import TypeGuard

from ..claims import HOW, VERDICTS, registry
from .markdown import _code_cells, _plain, _python_source
from .model import Check

__all__ = [
    "parse_text",
    "parse_page",
    "count_claim_tokens",
    "infer_how",
    "find_root",
    "toc_pages",
    "collect",
]


def count_claim_tokens(source: str) -> int:
    """Number of ``claim(`` calls in Python source, by tokens (comments and strings do not count).

    Examples
    --------
    >>> count_claim_tokens('claim("eq-1", verdict="holds")  # claim("eq-2") in a comment')
    1
    >>> count_claim_tokens('sgdsde.claim(\\n "eq-1", verdict="holds")')
    1
    """
    try:
        toks = [
            t
            for t in tokenize.generate_tokens(io.StringIO(source).readline)
            if t.type
            not in (
                tokenize.NL,
                tokenize.NEWLINE,
                tokenize.COMMENT,
                tokenize.INDENT,
                tokenize.DEDENT,
            )
        ]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return len(re.findall(r"(?<![\w])claim\s*\(", source))
    return sum(
        1
        for a, b in zip(toks, toks[1:])
        if a.type == tokenize.NAME
        and a.string == "claim"
        and b.type == tokenize.OP
        and b.string == "("
    )


def _is_claim_call(node: ast.AST | None) -> TypeGuard[ast.Call]:
    if not isinstance(node, ast.Call):
        return False
    f = node.func
    return (isinstance(f, ast.Name) and f.id == "claim") or (
        isinstance(f, ast.Attribute) and f.attr == "claim"
    )


def _literal_call(node: ast.Call) -> dict | None:
    """The call's arguments if they are all literal strings/bools in the documented form."""
    try:
        args = [ast.literal_eval(a) for a in node.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
    except (ValueError, TypeError, SyntaxError):
        return None
    if len(args) != 1 or None in kwargs or not set(kwargs) <= {"verdict", "note", "show", "how"}:
        return None
    if "verdict" not in kwargs:
        return None
    out = {
        "id": args[0],
        "verdict": kwargs["verdict"],
        "note": kwargs.get("note", ""),
        "show": kwargs.get("show", True),
        "how": kwargs.get("how", ""),
    }
    if not all(isinstance(out[k], str) for k in ("id", "verdict", "note", "how")):
        return None
    return out


def parse_text(text: str, page: str) -> tuple[list[Check], list[str]]:
    """Find the ``claim(...)`` calls of one MyST notebook source.

    Parameters
    ----------
    text : str
        The MyST Markdown source of the page.
    page : str
        The page's docname (path from the book root without ``.md``), used for links and messages.

    Returns
    -------
    checks : list of Check
        One per call, in source order, with anchors numbered per id as
        :func:`sgdsde.book.claims.claim` numbers them when the page runs top to bottom.
    problems : list of str
        One message per call the ledger cannot use: not a one-line top-level call with literal
        strings, an id missing from the registry, an invalid verdict, ``verdict="wrong"`` without a
        note, ``show=False`` or a ``remove-output``/``remove-cell`` tag (no anchor in the page), or
        a cell whose ``claim(`` tokens are not all such calls.

    Examples
    --------
    >>> src = '''# T
    ... ```{code-cell} ipython3
    ... for i in ["eq-1", "eq-2"]:
    ...     claim(i, verdict="holds")
    ... claim("eq-3", verdict="maybe")
    ... ```
    ... '''
    >>> checks, problems = parse_text(src, page="chapters/x")
    >>> len(checks), len(problems)
    (0, 2)
    """
    reg = registry()
    checks: list[Check] = []
    problems: list[str] = []
    seen: Counter[str] = Counter()
    page_title = ""
    section = ""
    for event in _code_cells(text):
        if event[0] == "box":
            continue
        if event[0] == "heading":
            _, _, level, heading = event
            if level == 1 and not page_title:
                page_title = _plain(heading)
            section = _plain(heading)
            continue
        _, first_line, source, options = event
        n_tokens = count_claim_tokens(source)
        if n_tokens == 0:
            continue
        where = f"{page}.md:{first_line}"
        if re.search(r"remove[-_](output|cell)", options):
            problems.append(
                f"{where}: a checking cell must show its output (the claim badge is the "
                "ledger's link target): drop the remove-output/remove-cell tag"
            )
            continue
        try:
            tree = ast.parse(_python_source(source))
        except SyntaxError as err:
            problems.append(
                f"{where}: code cell does not parse as Python ({err.msg}); "
                "its claim() calls cannot be read"
            )
            continue
        found = 0
        for stmt in tree.body:
            value = stmt.value if isinstance(stmt, (ast.Expr, ast.Assign, ast.AnnAssign)) else None
            if value is None or not _is_claim_call(value):
                continue
            found += 1
            line = first_line + value.lineno - 1
            loc = f"{page}.md:{line}"
            args = _literal_call(value)
            if args is None:
                problems.append(
                    f"{loc}: write claim() with literal strings: "
                    'claim("<id>", verdict="<verdict>", note="...")'
                )
                continue
            cid, verdict, note = args["id"], args["verdict"], args["note"]
            if cid not in reg:
                problems.append(
                    f"{loc}: claim id {cid!r} is not in the registry (sgdsde/book/data/claims.csv)"
                )
                continue
            if verdict not in VERDICTS:
                problems.append(f"{loc}: verdict {verdict!r} for {cid!r} is not one of {VERDICTS}")
                continue
            if verdict == "wrong" and not note:
                problems.append(
                    f"{loc}: verdict 'wrong' for {cid!r} needs note= with the corrected form"
                )
                continue
            if args["how"] and not set(args["how"].split("+")) <= set(HOW):
                problems.append(
                    f"{loc}: how={args['how']!r} for {cid!r} is not one of {HOW} "
                    "(or several joined by '+')"
                )
                continue
            how = args["how"] or infer_how(source)  # '' when the source does not tell
            if args["show"] is not True:
                problems.append(
                    f"{loc}: claim({cid!r}, show=False) renders no anchor for the ledger"
                )
                continue
            seen[cid] += 1
            k = seen[cid]
            anchor = f"claim-{cid}" + (f"-{k}" if k > 1 else "")
            checks.append(
                Check(
                    cid,
                    verdict,
                    note,
                    page,
                    page_title or page,
                    section or page_title,
                    line,
                    anchor,
                    how,
                )
            )
        if found != n_tokens:
            problems.append(
                f"{where}: the cell has {n_tokens} claim( call(s) but only {found} at top level; "
                "call claim() once per line, outside loops, functions and conditionals"
            )
    return checks, problems


def parse_page(
    path: str | os.PathLike, root: str | os.PathLike | None = None
) -> tuple[list[Check], list[str]]:
    """:func:`parse_text` on a file; the docname is the path relative to ``root`` without suffix.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "chapters").mkdir()
    >>> _ = (d / "chapters" / "p.md").write_text('```{code-cell} ipython3\\nclaim("eq-1", verdict="holds")\\n```\\n')
    >>> checks, problems = parse_page(d / "chapters" / "p.md", root=d)
    >>> checks[0].page, checks[0].line
    ('chapters/p', 2)
    """
    path = Path(path)
    root = Path(root) if root is not None else find_root(path.parent)
    docname = path.resolve().relative_to(root.resolve()).with_suffix("").as_posix()
    return parse_text(path.read_text(encoding="utf-8"), page=docname)


# ------------------------------------------------------------------------------- book structure
def find_root(start: str | os.PathLike | None = None) -> Path:
    """The book root: the first folder at or above ``start`` (default: the cwd) holding ``_toc.yml``.

    Raises
    ------
    FileNotFoundError
        If no folder above ``start`` holds a ``_toc.yml``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()).resolve()
    >>> _ = (d / "_toc.yml").write_text("root: intro\\n")
    >>> _ = (d / "chapters").mkdir()
    >>> find_root(d / "chapters") == d
    True
    """
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").is_file():
            return folder
    raise FileNotFoundError(f"no _toc.yml in {here} or any folder above it")


def toc_pages(
    root: str | os.PathLike | None = None, toc: str | os.PathLike | None = None
) -> list[str]:
    """Docnames of the table of contents, in reading order (root page first).

    Parameters
    ----------
    root : path, optional
        The book root (default: :func:`find_root`).
    toc : path, optional
        The table of contents file (default: ``<root>/_toc.yml``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "_toc.yml").write_text("root: chapters/00_intro\\nchapters:\\n  - file: chapters/a.md\\n")
    >>> toc_pages(d)
    ['chapters/00_intro', 'chapters/a']
    """
    root = Path(root) if root is not None else find_root()
    text = Path(toc or root / "_toc.yml").read_text(encoding="utf-8")
    names = [
        m.group(2)
        for m in re.finditer(r"^\s*(-\s*)?(?:root|file):\s*['\"]?([^'\"\s#]+)", text, re.M)
    ]
    return [re.sub(r"\.(md|ipynb)$", "", n) for n in names]


def collect(
    root: str | os.PathLike | None = None, toc: str | os.PathLike | None = None
) -> tuple[list[Check], list[str]]:
    """Every check of every page of the table of contents, and every parsing problem.

    Pages listed in the table of contents but absent on disk are skipped (the structure tests
    report them).

    Returns
    -------
    checks : list of Check
        In the order of the table of contents, then of the page.
    problems : list of str
        As for :func:`parse_text`, for all pages.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "_toc.yml").write_text("root: intro\\nchapters:\\n  - file: a\\n")
    >>> _ = (d / "a.md").write_text('# A\\n```{code-cell} ipython3\\nclaim("eq-4", verdict="holds")\\n```\\n')
    >>> checks, problems = collect(d)
    >>> [(c.id, c.page, c.anchor) for c in checks], problems
    ([('eq-4', 'a', 'claim-eq-4')], [])
    """
    root = Path(root) if root is not None else find_root()
    checks: list[Check] = []
    problems: list[str] = []
    for page in toc_pages(root, toc):
        path = root / f"{page}.md"
        if path.is_file():
            c, p = parse_text(path.read_text(encoding="utf-8"), page=page)
            checks += c
            problems += p
    return checks, problems


# ------------------------------------------------------------------- how a claim is checked
_HOW_PATTERNS = (
    ("symbolic", r"\bsp\.|\bsympy\b"),
    (
        "enumeration",
        r"\bitertools\.(product|combinations|permutations)\b|\benumerate_batches\b|\bminibatch_covariance\b",
    ),
    ("monte-carlo", r"\bassert_within_se\b|\bfalse_failure_prob\b|\bmean_se\b|\bcov_se\b"),
    ("numerical", r"\bassert_close\b|\ballclose\b"),
)


def infer_how(source: str) -> str:
    """How a checking cell checks its claims, read from its source ('' when nothing tells).

    ``sympy`` → symbolic; ``itertools.product/combinations/permutations`` → enumeration;
    ``assert_within_se``, ``false_failure_prob``, ``mean_se``, ``cov_se`` → Monte Carlo;
    ``assert_close``/``allclose`` → numerical. Several may apply; they are joined by ``+`` in
    :data:`~sgdsde.book.claims.HOW` order. A cell whose method is none of these (an experiment, a
    reference check) says so with ``claim(..., how="experiment")``.

    Examples
    --------
    >>> infer_how("assert sp.simplify(a - b) == 0\\nstats.assert_within_se(m, t, se)")
    'symbolic+monte-carlo'
    >>> infer_how("assert x > 0")
    ''
    """
    code = "\n".join(ln.split("#", 1)[0] for ln in source.splitlines())
    found = {name for name, pat in _HOW_PATTERNS if re.search(pat, code)}
    return "+".join(h for h in HOW if h in found)
