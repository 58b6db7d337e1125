"""The ledger's data: one :class:`Check` per ``claim(...)`` call, one :class:`LedgerRow` per claim.

Examples
--------
>>> from sgdsde.book.ledger.model import Check, build, summary_counts
>>> rows = build([Check("eq-7", "holds", "", "chapters/a", "A", "A", 3, "claim-eq-7")])
>>> summary_counts(rows)["holds"]
1
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field

from ..claims import HOW, VERDICTS, Claim, registry

__all__ = ["SEVERITY", "Check", "LedgerRow", "build", "summary_counts"]

#: Order used to summarise several checks of one claim: the most severe verdict wins.
SEVERITY = {"wrong": 4, "conditional": 3, "open": 2, "holds": 1, "answered": 1, "definition": 0}


@dataclass(frozen=True)
class Check:
    """One ``claim(...)`` call found in a chapter's source.

    Attributes
    ----------
    id, verdict, note : str
        The call's literal arguments.
    page : str
        The page's docname relative to the book root, without suffix, e.g. ``"chapters/02_setup"``.
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
    >>> c = Check("eq-7", "holds", "", "chapters/03_gradient_noise", "Noise", "Covariance", 120, "claim-eq-7")
    >>> c.page, c.anchor
    ('chapters/03_gradient_noise', 'claim-eq-7')
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

    def href(self, from_page: str = "chapters/26_claims_ledger") -> str:
        """Relative URL of the checking cell's badge, as seen from the HTML page ``from_page``.

        Examples
        --------
        >>> c = Check("eq-7", "holds", "", "chapters/03_gradient_noise", "T", "S", 1, "claim-eq-7")
        >>> c.href("chapters/26_claims_ledger")
        '03_gradient_noise.html#claim-eq-7'
        >>> c.href("index")
        'chapters/03_gradient_noise.html#claim-eq-7'
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
