"""Build the claims ledger from the chapters' sources: which cell checks which claim of the notes.

Every checking cell of a chapter calls :func:`sgdsde.book.claims.claim` on one line with literal
strings, ``claim("eq-7", verdict="holds", note="...")``. This module finds those calls *statically*
in the MyST sources (``chapters/*.md``) of the pages listed in ``_toc.yml``, without running
anything, and joins them with the registry (``sgdsde/book/data/claims.csv``) into one ledger row per
claim. Each call gets the anchor that :func:`~sgdsde.book.claims.claim` renders in the cell's output
(``claim-<id>`` for the first call of an id on a page, ``claim-<id>-<k>`` for the k-th), so the
ledger can link to ``<page>.html#claim-<id>``.

Parsing is done with Python's ``ast`` module on each code cell, so a call hidden in a loop, split over several
lines or built from variables is *reported* as a problem rather than silently missed.

Examples
--------
>>> from sgdsde.book.ledger import parse_text
>>> page = '''# Setup (notes §1)
... ## The unbiased gradient
... ```{code-cell} ipython3
... # Checks notes §1.3: E_B[g_B] = g_n.
... claim("s1.3-unbiased", verdict="holds")
... assert True
... ```
... '''
>>> checks, problems = parse_text(page, page="chapters/setup")
>>> c = checks[0]
>>> c.id, c.verdict, c.section, c.anchor, c.href("chapters/claims_ledger")
('s1.3-unbiased', 'holds', 'The unbiased gradient', 'claim-s1.3-unbiased', 'setup.html#claim-s1.3-unbiased')
>>> problems
[]
"""

from __future__ import annotations

import ast
import html
import io
import os
import re
import tokenize
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeGuard

from .claims import _COLOURS, HOW, VERDICTS, Claim, registry

__all__ = [
    "SEVERITY",
    "Check",
    "LedgerRow",
    "parse_text",
    "parse_page",
    "count_claim_tokens",
    "find_root",
    "toc_pages",
    "collect",
    "build",
    "summary_counts",
    "to_html",
    "summary_html",
    "page_labels",
    "notes_section",
    "notes_equation_numbers",
    "infer_how",
    "Box",
    "boxes_beside",
    "box_problems",
    "verdict_conflicts",
    "notes_items",
    "registered_items",
    "ITEM_SECTIONS",
]

#: Order used to summarise several checks of one claim: the most severe verdict wins.
SEVERITY = {"wrong": 4, "conditional": 3, "open": 2, "holds": 1, "answered": 1, "definition": 0}

#: How each summary verdict reads in the ledger.
_VERDICT_TEXT = {
    "holds": "holds",
    "conditional": "holds under stated conditions",
    "wrong": "wrong (corrected)",
    "definition": "definition",
    "answered": "answered in the book",
    "open": "open",
    "unchecked": "UNCHECKED",
}
_VERDICT_COLOUR = {**_COLOURS, "unchecked": "#000000"}  # Okabe–Ito, as the badges and figures

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_HEADING = re.compile(r"^(?P<hashes>#{1,6})\s+(?P<text>.+?)\s*#*\s*$")
_COLON = re.compile(r"^ {0,3}(?P<fence>:{3,})(?P<info>.*)$")


def _box_class(body: list[str]) -> str:
    """The ``:class:`` option at the top of an admonition's body ('' if none)."""
    for line in body[:6]:
        m = re.match(r"^\s*:class:\s*(.+?)\s*$", line)
        if m:
            return m.group(1)
        if line.strip() and not line.lstrip().startswith(":"):
            break
    return ""


def _after_yaml_block(lines: list[str]) -> int:
    """Index of the first line after a leading ``---`` … ``---`` block (0 if there is none)."""
    if lines and lines[0].strip() == "---":
        for k in range(1, len(lines)):
            if lines[k].strip() == "---":
                return k + 1
    return 0


@dataclass(frozen=True)
class Check:
    """One ``claim(...)`` call found in a chapter's source.

    Attributes
    ----------
    id, verdict, note : str
        The call's literal arguments.
    page : str
        The page's docname relative to the book root, without suffix, e.g. ``"chapters/s1_setup"``.
    page_title : str
        The page's first level-1 heading.
    section : str
        The nearest heading above the cell (the page title if there is none in between).
    line : int
        1-based line of the call in the source file.
    anchor : str
        ``claim-<id>`` or ``claim-<id>-<k>`` for the k-th call of the same id on the page: the HTML
        id that :func:`sgdsde.book.claims.claim` gives the cell's badge.

    Examples
    --------
    >>> c = Check("eq-7", "holds", "", "chapters/s1_8_noise", "Noise", "Covariance", 120, "claim-eq-7")
    >>> c.page, c.anchor
    ('chapters/s1_8_noise', 'claim-eq-7')
    """

    id: str
    verdict: str
    note: str
    page: str
    page_title: str
    section: str
    line: int
    anchor: str
    how: str = ""

    def href(self, from_page: str = "chapters/claims_ledger") -> str:
        """Relative URL of the checking cell's badge, as seen from the HTML page ``from_page``.

        Examples
        --------
        >>> c = Check("eq-7", "holds", "", "chapters/s1_8_noise", "T", "S", 1, "claim-eq-7")
        >>> c.href("chapters/claims_ledger")
        's1_8_noise.html#claim-eq-7'
        >>> c.href("index")
        'chapters/s1_8_noise.html#claim-eq-7'
        """
        start = os.path.dirname(from_page) or "."
        return f"{os.path.relpath(self.page, start).replace(os.sep, '/')}.html#{self.anchor}"


@dataclass(frozen=True)
class LedgerRow:
    """One claim of the registry with every check of it.

    Attributes
    ----------
    claim : Claim
        The registry entry (id, location in the notes, kind, one-line statement).
    checks : tuple of Check
        Every cell that checks it, in the order of the table of contents.
    verdict : str
        The most severe verdict of the checks (``wrong`` > ``conditional`` > ``holds`` >
        ``definition``), or ``"unchecked"`` when no cell checks the claim.

    Examples
    --------
    >>> from sgdsde.book.claims import registry
    >>> row = LedgerRow(registry()["eq-7"], (Check("eq-7", "conditional", "B ≪ n", "chapters/a",
    ...                                            "A", "A", 1, "claim-eq-7"),))
    >>> row.verdict, LedgerRow(registry()["eq-8"]).verdict
    ('conditional', 'unchecked')
    """

    claim: Claim
    checks: tuple[Check, ...] = field(default_factory=tuple)

    @property
    def verdict(self) -> str:
        if not self.checks:
            return "unchecked"
        return max((c.verdict for c in self.checks), key=SEVERITY.__getitem__)

    @property
    def how(self) -> str:
        """How the claim is checked: the methods of its cells, in ``HOW`` order, joined by ``+``."""
        used = {h for c in self.checks for h in c.how.split("+") if h}
        return "+".join(h for h in HOW if h in used)


# --------------------------------------------------------------------------------------- parsing
def _code_cells(text: str):
    """Yield ``(first_line, source)`` of each ``{code-cell}`` block and ``(line, heading)`` events.

    Yields tuples ``("cell", line, source, options)`` and ``("heading", line, level, text)`` in file order.
    Headings inside any fenced block (code cells, directives, examples) are not headings.
    """
    lines = text.splitlines()
    i = _after_yaml_block(lines)  # skip the page's YAML front matter
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if m:
            fence = m.group("fence")
            is_cell = m.group("info").strip().startswith("{code-cell}")
            body_start = i + 1
            j = body_start
            while j < len(lines):
                close = lines[j].strip()
                if close.startswith(fence[0] * len(fence)) and set(close) <= {fence[0]}:
                    break
                j += 1
            box = re.match(r"\{admonition\}\s*(.*)$", m.group("info").strip())
            if box:
                yield ("box", i + 1, _box_class(lines[body_start:j]), box.group(1).strip())
            if is_cell:
                body = lines[body_start:j]
                # skip the cell's option block: either `---` YAML `---` or leading `:key: value` lines
                offset = _after_yaml_block(body)
                if offset == 0:
                    while offset < len(body) and re.match(r"^:\w[\w-]*:", body[offset]):
                        offset += 1
                yield (
                    "cell",
                    body_start + offset + 1,
                    "\n".join(body[offset:]),
                    "\n".join(body[:offset]),
                )
            i = j + 1
            continue
        c = _COLON.match(lines[i])
        if c and c.group("info").strip().startswith("{admonition}"):
            body = []
            for j in range(i + 1, min(i + 6, len(lines))):
                body.append(lines[j])
            yield (
                "box",
                i + 1,
                _box_class(body),
                c.group("info").strip()[len("{admonition}") :].strip(),
            )
        h = _HEADING.match(lines[i])
        if h:
            yield ("heading", i + 1, len(h.group("hashes")), h.group("text"))
        i += 1


_MACROS = {
    "Semp": "Σ_emp",
    "Spop": "Σ_pop",
    "Sbatch": "Σ_batch",
    "nusamp": "ν_sampling",
    "nubatch": "ν_batch",
    "Dn": "D_n",
    "Bk": "B",
    "E": "E",
    "Var": "Var",
    "Cov": "Cov",
    "eta": "η",
    "theta": "θ",
    "xi": "ξ",
    "nu": "ν",
    "alpha": "α",
    "beta": "β",
    "Sigma": "Σ",
    "sigma": "σ",
    "nabla": "∇",
    "ell": "ℓ",
    "mu": "μ",
    "lambda": "λ",
    "infty": "∞",
    "to": "→",
    "ll": "≪",
    "le": "≤",
    "ge": "≥",
    "approx": "≈",
    "times": "×",
    "cdot": "·",
    "sqrt": "√",
}


def _plain(text: str) -> str:
    """Heading text without MyST roles, math dollars or label syntax (for link texts).

    Examples
    --------
    >>> _plain(r"Covariance of $\\xi$ is $\\Semp/B$ ({doc}`notation`)")
    'Covariance of ξ is Σ_emp/B (notation)'
    """
    text = re.sub(r"\{[\w:-]+\}`([^`<]*?)(?:\s*<[^>]*>)?`", r"\1", text)  # {doc}`x <y>` → x
    text = re.sub(r"\\([A-Za-z]+)\s*", lambda m: _MACROS.get(m.group(1), m.group(1)), text)
    text = re.sub(r"[{}$`]", "", text)
    return re.sub(r"\s+", " ", text).strip()


def _python_source(cell: str) -> str:
    """Cell source with IPython magics and shell escapes blanked (line numbers preserved)."""
    return "\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in cell.split("\n"))


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
            if args is None or value.lineno != value.end_lineno:
                problems.append(
                    f"{loc}: write claim() on one line with literal strings: "
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
    >>> _ = (d / "_toc.yml").write_text("root: chapters/intro\\nchapters:\\n  - file: chapters/a.md\\n")
    >>> toc_pages(d)
    ['chapters/intro', 'chapters/a']
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


def build(checks: list[Check], claims: dict[str, Claim] | None = None) -> list[LedgerRow]:
    """One :class:`LedgerRow` per registry claim, in registry order, with its checks.

    Examples
    --------
    >>> a = Check("eq-7", "holds", "", "chapters/a", "A", "A", 3, "claim-eq-7")
    >>> b = Check("eq-7", "wrong", "Σ/B, not 1/R", "chapters/b", "B", "B", 9, "claim-eq-7")
    >>> rows = {r.claim.id: r for r in build([a, b])}
    >>> rows["eq-7"].verdict, rows["eq-1"].verdict
    ('wrong', 'unchecked')
    """
    claims = registry() if claims is None else claims
    by_id: dict[str, list[Check]] = {cid: [] for cid in claims}
    for c in checks:
        if c.id in by_id:
            by_id[c.id].append(c)
    return [LedgerRow(claims[cid], tuple(cs)) for cid, cs in by_id.items()]


def summary_counts(rows: list[LedgerRow]) -> dict[str, int]:
    """Claims per summary verdict, plus ``total`` (claims) and ``checks`` (checking cells).

    Examples
    --------
    >>> rows = build([Check("eq-7", "holds", "", "chapters/a", "A", "A", 3, "claim-eq-7")])
    >>> c = summary_counts(rows)
    >>> c["holds"], c["unchecked"] == c["total"] - 1, c["checks"]
    (1, True, 1)
    """
    counts = Counter(r.verdict for r in rows)
    out = {k: int(counts.get(k, 0)) for k in (*VERDICTS, "unchecked")}
    out["total"] = len(rows)
    out["checks"] = sum(len(r.checks) for r in rows)
    return out


# ------------------------------------------------------------------------------------ rendering
def _verdict_html(verdict: str) -> str:
    colour = _VERDICT_COLOUR[verdict]
    return (
        f'<span class="ledger-verdict ledger-{verdict}" style="color:{colour};font-weight:600">'
        f"{html.escape(_VERDICT_TEXT[verdict])}</span>"
    )


def notes_section(location: str) -> str:
    """The top-level section of the notes that a registry location belongs to (the ledger's filter).

    Examples
    --------
    >>> notes_section("§1.8.3 (10)"), notes_section("§2.3"), notes_section("App. 5.0.1 (30)")
    ('§1', '§2', 'App. 5')
    >>> notes_section("Notation")
    'Notation'
    """
    m = re.match(r"\s*(§|App\.\s*)(\d+)", location)
    if not m:
        return location.split()[0] if location.split() else "—"
    return ("§" if m.group(1) == "§" else "App. ") + m.group(2)


def _section_order(section: str) -> tuple:
    m = re.search(r"\d+", section)
    return (section.startswith("App"), int(m.group()) if m else 10**6, section)


def page_labels(checks) -> dict[str, str]:
    """A short, unique label per page, for compact links: the notes' reference of its title.

    ``"The two sources of gradient noise (notes §1.8)"`` gives ``"§1.8"``; where several pages
    carry the same reference, the first word of the title that is not an article is added
    (``"§4 Heavy-tailed"``, ``"§4 Grokking"``); a title without a reference gives its first words.

    Examples
    --------
    >>> mk = lambda page, title: Check("eq-1", "holds", "", page, title, title, 1, "claim-eq-1")
    >>> page_labels([mk("a", "Noise (notes §1.8)"), mk("b", "Heavy tails (notes §4)"),
    ...              mk("c", "The grokking (notes §4)"), mk("d", "Notation and conventions"),
    ...              mk("e", "Helmholtz (notes Appendix 5.1)")])
    {'a': '§1.8', 'b': '§4 Heavy', 'c': '§4 grokking', 'd': 'Notation', 'e': 'App. 5.1'}
    """
    titles: dict[str, str] = {}
    for c in checks:
        titles.setdefault(c.page, c.page_title)
    refs = {}
    for page, title in titles.items():
        m = re.search(r"\(notes\s+([^)]*)\)\s*$", title)
        ref = m.group(1).strip() if m else ""
        ref = re.sub(r"^(Appendix|App\.)\s*", "App. ", ref)
        refs[page] = ref
    count = Counter(refs.values())
    labels = {}
    for page, title in titles.items():
        words = [w.strip(",:;") for w in re.sub(r"\(notes[^)]*\)\s*$", "", title).split()]
        words = [w for w in words if w.lower() not in {"the", "a", "an", "of", "and"}] or [page]
        ref = refs[page]
        labels[page] = ref if ref and count[ref] == 1 else f"{ref} {words[0]}".strip()
    return labels


def summary_html(counts: dict[str, int]) -> str:
    """The ledger's counts per verdict as a table; each count links to the filtered ledger.

    The link ``#verdict=<verdict>`` is read by ``_static/ledger.js`` on the ledger page, which then
    shows only the rows of that verdict.

    Examples
    --------
    >>> out = summary_html({"holds": 3, "conditional": 1, "wrong": 2, "definition": 0,
    ...                     "unchecked": 0, "total": 6, "checks": 7})
    >>> '<a href="#verdict=wrong" class="ledger-count" data-verdict="wrong">2</a>' in out
    True
    """
    head = "<thead><tr><th>verdict</th><th>claims</th></tr></thead>"
    body = []
    for v in ("holds", "conditional", "wrong", "definition", "unchecked"):
        body.append(
            f"<tr><td>{_verdict_html(v)}: {html.escape(_VERDICT_LONG[v])}</td>"
            f'<td><a href="#verdict={v}" class="ledger-count" data-verdict="{v}">{int(counts[v])}</a>'
            "</td></tr>"
        )
    body.append(
        f'<tr><td>all claims</td><td><a href="#" class="ledger-count" data-verdict="">'
        f"{int(counts['total'])}</a></td></tr>"
    )
    return f'<table class="ledger-summary table">{head}<tbody>{"".join(body)}</tbody></table>'


_VERDICT_LONG = {
    "holds": "as stated",
    "conditional": "only under conditions the notes leave unstated",
    "wrong": "corrected in the book",
    "definition": "nothing to prove; shown where it is used",
    "unchecked": "no cell checks it",
}


def _controls_html(rows: list[LedgerRow]) -> str:
    sections = sorted({notes_section(r.claim.location) for r in rows}, key=_section_order)
    verdicts = [v for v in ("holds", "conditional", "wrong", "definition", "unchecked")]
    opt = lambda value, text: f'<option value="{html.escape(value)}">{html.escape(text)}</option>'  # noqa: E731
    return (
        '<div class="ledger-controls" hidden>'
        '<label>verdict <select class="ledger-filter" data-key="verdict">'
        + opt("", "all")
        + "".join(opt(v, _VERDICT_TEXT[v]) for v in verdicts)
        + "</select></label> "
        '<label>notes section <select class="ledger-filter" data-key="section">'
        + opt("", "all")
        + "".join(opt(s, s) for s in sections)
        + "</select></label> "
        '<label>search <input type="search" class="ledger-search" data-key="q" '
        'placeholder="id, statement, note…"></label> '
        '<span class="ledger-shown" aria-live="polite"></span>'
        "</div>"
    )


def to_html(rows: list[LedgerRow], from_page: str = "chapters/claims_ledger") -> str:
    """The ledger as one HTML table, with links from ``from_page`` to each checking cell.

    Columns: claim id, location in the notes, one-line statement, summary verdict, and every
    check: a short link to the page and cell (the page's notes reference, from
    :func:`page_labels`, and ``#k`` for the k-th cell of the page checking the claim; the full page
    and section title is the link's tooltip), its verdict when it differs, and its note (the
    condition, or the corrected form when the notes are wrong). Above the table, filters by
    verdict and notes section and a search box, which ``_static/ledger.js`` brings to life (they
    stay hidden without the script); its column headers sort the rows. Each row carries
    ``data-verdict`` and ``data-section`` for the script and the browser test.

    Examples
    --------
    >>> rows = build([Check("eq-7", "wrong", "Σ/B", "chapters/a", "A (notes §1.8)", "Sec", 3,
    ...                     "claim-eq-7")])
    >>> out = to_html(rows)
    >>> 'href="a.html#claim-eq-7"' in out and ">§1.8</a>" in out and "UNCHECKED" in out
    True
    >>> 'data-verdict="wrong" data-section="§1"' in out
    True
    """
    labels = page_labels([c for r in rows for c in r.checks])
    head = (
        '<thead><tr><th data-sort="text">claim</th><th data-sort="notes">notes</th>'
        '<th data-sort="text">statement</th><th data-sort="verdict">verdict</th>'
        '<th data-sort="text">how</th><th data-sort="text">checked in</th></tr></thead>'
    )
    body = []
    for r in rows:
        cells = []
        per_page: Counter[str] = Counter()
        for c in r.checks:
            per_page[c.page] += 1
        seen: Counter[str] = Counter()
        for c in r.checks:
            seen[c.page] += 1
            label = labels[c.page] + (f" #{seen[c.page]}" if per_page[c.page] > 1 else "")
            where = c.section if c.section == c.page_title else f"{c.page_title} › {c.section}"
            item = (
                f'<a class="ledger-check" href="{html.escape(c.href(from_page))}" '
                f'title="{html.escape(where)}">{html.escape(label)}</a>'
            )
            if len(r.checks) > 1 or c.verdict != r.verdict:
                item += f" <small>({html.escape(_VERDICT_TEXT[c.verdict])})</small>"
            if c.note:
                prefix = {"wrong": "corrected: ", "conditional": "if: ", "open": "open: "}.get(
                    c.verdict, ""
                )
                item += f"<br><small>{html.escape(prefix + c.note)}</small>"
            cells.append(f'<div class="ledger-check-item">{item}</div>')
        checked = "".join(cells) if cells else "—"
        cid = html.escape(r.claim.id)
        body.append(
            f'<tr id="ledger-{cid}" data-verdict="{r.verdict}" '
            f'data-section="{html.escape(notes_section(r.claim.location))}">'
            f"<td><code>{cid}</code></td>"
            f"<td>{html.escape(r.claim.location)}</td><td>{html.escape(r.claim.statement)}</td>"
            f'<td data-value="{SEVERITY.get(r.verdict, -1)}">{_verdict_html(r.verdict)}</td>'
            f"<td>{html.escape(r.how.replace('+', ' + ')) or '—'}</td>"
            f"<td>{checked}</td></tr>"
        )
    return (
        f'<div class="ledger">{_controls_html(rows)}'
        f'<table class="claims-ledger table">{head}<tbody>{"".join(body)}</tbody></table></div>'
    )


# ------------------------------------------------------------------------------------- the notes
def notes_equation_numbers(text: str) -> set[int]:
    """Equation numbers of the notes: ``\\tag{N}`` and lines that hold only ``(N)``.

    Examples
    --------
    >>> sorted(notes_equation_numbers("$$a=b \\\\tag{4}$$\\n$$c$$\\n (5)\\nsee (6) in text"))
    [4, 5]
    """
    tags = {int(m) for m in re.findall(r"\\tag\{(\d+)\}", text)}
    alone = {int(m) for m in re.findall(r"(?m)^\s*\((\d+)\)\s*$", text)}
    return tags | alone


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


# ------------------------------------------------------------- the boxes beside a check
#: Title prefixes of the two kinds of box, and the admonition class each must have.
BOX_KINDS = {
    "correction": ("Correction to the notes", "warning"),
    "condition": ("Holds only if", "note"),
}
#: The box each verdict needs beside its cell (verdicts not listed need none, and forbid both).
_NEEDS = {"wrong": "correction", "conditional": "condition"}


@dataclass(frozen=True)
class Box:
    """A ``Correction to the notes…`` or ``Holds only if…`` admonition of a page.

    Examples
    --------
    >>> Box("correction", "warning", "Correction to the notes, eq. (7)", 12, 3).kind
    'correction'
    """

    kind: str
    cls: str
    title: str
    line: int
    section: int


def boxes_beside(text: str, page: str = "page") -> tuple[list[tuple[Check, int]], list[Box]]:
    """The page's checks and boxes, each with the index of its *section*.

    "Beside" is defined by sections: a page is cut into sections at every heading (any level), and a
    box is beside every checking cell of its own section. Returns ``[(check, section)]`` and the
    boxes.

    Examples
    --------
    >>> src = '''# T
    ... ## A
    ... ```{code-cell} ipython3
    ... claim("eq-1", verdict="wrong", note="x", how="symbolic")
    ... ```
    ... :::{admonition} Correction to the notes, (1)
    ... :class: warning
    ... :::
    ... ## B
    ... '''
    >>> checks, boxes = boxes_beside(src)
    >>> [(c.id, s) for c, s in checks], [(b.kind, b.section) for b in boxes]
    ([('eq-1', 2)], [('correction', 2)])
    """
    checks, _ = parse_text(text, page)
    section, starts, boxes = 0, [], []
    for event in _code_cells(text):
        if event[0] == "heading":
            section += 1
        elif event[0] == "box":
            _, line, cls, title = event
            for kind, (prefix, _) in BOX_KINDS.items():
                if _plain(title).startswith(prefix):
                    boxes.append(Box(kind, cls, title, line, section))
        elif event[0] == "cell":
            n_lines = event[2].count("\n") + 1
            starts.append((event[1], event[1] + n_lines, section))
    placed = []
    for c in checks:
        sec = next((s for a, b, s in starts if a <= c.line < b), -1)
        placed.append((c, sec))
    return placed, boxes


def box_problems(text: str, page: str = "page") -> list[str]:
    """Disagreements between the verdicts of a page's cells and the boxes beside them.

    In each section (see :func:`boxes_beside`): a cell with a ``wrong`` claim needs a ``warning``
    box titled "Correction to the notes…"; a cell with a ``conditional`` claim needs a ``note`` box
    titled "Holds only if…"; and each such box needs a cell in its section whose verdict it
    reports (so a claim that holds has no correction box beside it).

    Examples
    --------
    >>> src = '''# T
    ... ```{code-cell} ipython3
    ... claim("eq-1", verdict="holds", how="symbolic")
    ... ```
    ... :::{admonition} Correction to the notes, (1)
    ... :class: warning
    ... :::
    ... '''
    >>> box_problems(src, "p")
    ["p.md:5: box 'Correction to the notes, (1)' but no cell of its section has verdict 'wrong'"]
    """
    placed, boxes = boxes_beside(text, page)
    out = []
    for b in boxes:
        want_cls = BOX_KINDS[b.kind][1]
        if b.cls != want_cls:
            out.append(
                f"{page}.md:{b.line}: box {b.title!r} must have :class: {want_cls} (has {b.cls!r})"
            )
        verdict = next(v for v, k in _NEEDS.items() if k == b.kind)
        if not any(s == b.section and c.verdict == verdict for c, s in placed):
            out.append(
                f"{page}.md:{b.line}: box {b.title!r} but no cell of its section has verdict {verdict!r}"
            )
    for c, s in placed:
        need = _NEEDS.get(c.verdict)
        if need and not any(b.section == s and b.kind == need for b in boxes):
            out.append(
                f"{page}.md:{c.line}: {c.id!r} is {c.verdict!r} but its section has no "
                f"'{BOX_KINDS[need][0]} …' box ({BOX_KINDS[need][1]})"
            )
    return out


def verdict_conflicts(checks: list[Check]) -> list[str]:
    """Claims that two cells give different verdicts (each claim must have one verdict).

    A claim that holds under one condition and fails under another is split into sub-claims in
    ``claims.csv``.

    Examples
    --------
    >>> a = Check("eq-7", "holds", "", "chapters/a", "A", "A", 3, "claim-eq-7")
    >>> b = Check("eq-7", "wrong", "x", "chapters/b", "B", "B", 9, "claim-eq-7")
    >>> verdict_conflicts([a, b])
    ["'eq-7': holds (chapters/a.md:3), wrong (chapters/b.md:9)"]
    """
    by_id: dict[str, list[Check]] = {}
    for c in checks:
        by_id.setdefault(c.id, []).append(c)
    return [
        f"{cid!r}: " + ", ".join(f"{c.verdict} ({c.page}.md:{c.line})" for c in cs)
        for cid, cs in by_id.items()
        if len({c.verdict for c in cs}) > 1
    ]


# --------------------------------------------------------------------- the notes' list items
#: Sections of the notes whose list items are statements to register, one by one.
ITEM_SECTIONS = ("2.3", "2.4", "3")
_SECTION_LINE = re.compile(r"^(\d+(?:\.\d+)*)\s+[A-Z]")


def notes_items(text: str, sections: tuple[str, ...] = ITEM_SECTIONS) -> dict[str, list[str]]:
    """The list items of the notes' sections: lines starting with a dash or a bullet, numbered from 1.

    A section runs from its title line (``2.3 List of assumptions``) to the next section title.

    Examples
    --------
    >>> notes = "2.3 List\\n- a\\nprose\\n• b\\n2.4 Rank\\n- c\\n3 TODO\\n- d\\n"
    >>> notes_items(notes)
    {'2.3': ['a', 'b'], '2.4': ['c'], '3': ['d']}
    """
    out: dict[str, list[str]] = {s: [] for s in sections}
    current = None
    for line in text.splitlines():
        m = _SECTION_LINE.match(line)
        if m:
            current = m.group(1) if m.group(1) in sections else None
            continue
        if current and (line.startswith("- ") or line.startswith("• ")):
            out[current].append(line[2:].strip())
    return out


def registered_items(claims: dict[str, Claim] | None = None) -> dict[tuple[str, int], list[str]]:
    """``{(section, k): [claim ids]}``: the notes' list items that registry rows cover.

    A row covers item k of §S when its ``location`` holds exactly ``§S item k`` (several items may
    be listed, separated by semicolons).

    Examples
    --------
    >>> c = {"x": Claim("x", "§3 item 2; §3 item 12", "todo", "s")}
    >>> registered_items(c)
    {('3', 2): ['x'], ('3', 12): ['x']}
    """
    claims = registry() if claims is None else claims
    out: dict[tuple[str, int], list[str]] = {}
    for cid, c in claims.items():
        for part in c.location.split(";"):
            m = re.fullmatch(r"\s*§(\d+(?:\.\d+)*) item (\d+)\s*", part)
            if m:
                out.setdefault((m.group(1), int(m.group(2))), []).append(cid)
    return out
