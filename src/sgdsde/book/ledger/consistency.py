"""Checks that the ledger cannot contradict itself, and that the notes' statements are registered.

One verdict per claim (:func:`verdict_conflicts`); the box beside a checking cell agrees with its
verdict (:func:`box_problems`); every equation and list item of the notes has a registry row
(:func:`notes_equation_numbers`, :func:`notes_items`, :func:`registered_items`).
``tests/test_ledger_consistency.py`` and ``tests/test_claims_ledger.py`` run them on the book.

Examples
--------
>>> from sgdsde.book.ledger.consistency import notes_items
>>> notes_items("3 TODO\\n- an orbit\\n")["3"]
['an orbit']
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..claims import Claim, registry
from .markdown import _code_cells, _plain
from .model import Check
from .parse import parse_text

__all__ = [
    "Box",
    "boxes_beside",
    "box_problems",
    "verdict_conflicts",
    "notes_equation_numbers",
    "notes_items",
    "registered_items",
    "ITEM_SECTIONS",
    "BOX_KINDS",
]


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
