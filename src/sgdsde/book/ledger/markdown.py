"""Scanning the MyST sources of the chapters: code cells, headings and admonitions, in file order.

The ledger's lowest floor: it knows the Markdown, not the claims. Its scanner yields the events
that :mod:`sgdsde.book.ledger.parse` and :mod:`sgdsde.book.ledger.consistency` read;
:func:`code_cells` gives the code cells alone (``tests/test_layout.py`` reads the chapters' code
with it).

Examples
--------
>>> from sgdsde.book.ledger.markdown import _code_cells
>>> [e[0] for e in _code_cells("# T\\n```{code-cell} ipython3\\nx = 1\\n```\\n")]
['heading', 'cell']
"""

from __future__ import annotations

import re

__all__ = ["code_cells"]

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
    >>> _plain(r"Covariance of $\\xi$ is $\\Semp/B$ ({doc}`01_notation`)")
    'Covariance of ξ is Σ_emp/B (01_notation)'
    """
    text = re.sub(r"\{[\w:-]+\}`([^`<]*?)(?:\s*<[^>]*>)?`", r"\1", text)  # {doc}`x <y>` → x
    text = re.sub(r"\\([A-Za-z]+)\s*", lambda m: _MACROS.get(m.group(1), m.group(1)), text)
    text = re.sub(r"[{}$`]", "", text)
    return re.sub(r"\s+", " ", text).strip()


def _python_source(cell: str) -> str:
    """Cell source with IPython magics and shell escapes blanked (line numbers preserved)."""
    return "\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in cell.split("\n"))


def code_cells(text: str) -> list[tuple[int, str]]:
    """The code cells of a MyST notebook: ``(first_line, source)``, IPython magics blanked.

    ``first_line`` is the 1-based line of the source's first line in the file (after the cell's
    option block), so ``first_line + node.lineno - 1`` is the file line of an ``ast`` node.

    Examples
    --------
    >>> code_cells("# T\\n```{code-cell} ipython3\\n:tags: [hide-input]\\n%matplotlib inline\\nx = 1\\n```\\n")
    [(4, '\\nx = 1')]
    """
    return [(e[1], _python_source(e[2])) for e in _code_cells(text) if e[0] == "cell"]
