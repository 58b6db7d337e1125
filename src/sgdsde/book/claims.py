"""Record which claim of the notes a cell checks; the claims ledger is built from these records.

The registry of claims (every numbered equation and every stated claim of the notes) lives in one
data file, ``sgdsde/book/data/claims.csv`` (columns ``id, location, kind, statement``). A checking cell
calls :func:`claim` first; the call validates the id and the verdict and, inside a notebook,
renders a small badge carrying an HTML anchor ``claim-<id>`` (``claim-<id>-2`` for the second cell
checking the same id in a page), which the ledger links to.

Examples
--------
>>> from sgdsde.book.claims import claim, registry, reset
>>> reset()                     # a fresh page: anchors are numbered per id and page
>>> rec = claim("eq-7", verdict="holds", note="typo 1/R read as 1/B")
>>> rec.id, rec.verdict, rec.anchor
('eq-7', 'holds', 'claim-eq-7')
>>> registry()["eq-7"].location
'§1.8.1 (7)'
"""

from __future__ import annotations

import csv
import html
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

#: Allowed verdicts. ``conditional`` = holds only under conditions the notes do not state;
#: ``definition`` = a definition, nothing to prove (still shown where it is used). For the notes'
#: to-do items (§3): ``answered`` = the book settles it; ``open`` = the book does not (yet).
VERDICTS = ("holds", "conditional", "wrong", "definition", "answered", "open")

#: How a cell checks its claim: ``symbolic`` (sympy, general n, B, d), ``enumeration`` (every batch
#: or epoch, exactly), ``numerical`` (a floating-point identity, tolerance scaled to the magnitudes),
#: ``monte-carlo`` (k standard errors, with its false-failure odds), ``experiment`` (a measured
#: effect, with its power), ``reference`` (the book's pages are checked to treat the topic).
HOW = ("symbolic", "enumeration", "numerical", "monte-carlo", "experiment", "reference")


@dataclass(frozen=True)
class Claim:
    """One row of the registry.

    Attributes
    ----------
    id : str
        ``eq-N`` for the notes' numbered equation N, ``s<section>-<slug>`` for an unnumbered claim.
    location : str
        Where the notes state it, e.g. ``"§1.8.1 (7)"``.
    kind : {"claim", "definition"}
        A definition states nothing to prove.
    statement : str
        One line, in the notes' own terms.

    Examples
    --------
    >>> c = registry()["eq-23"]
    >>> c.kind, c.location
    ('claim', '§2.1 (23)')
    """

    id: str
    location: str
    kind: str
    statement: str


@dataclass(frozen=True)
class ClaimRecord:
    """What a checking cell records: the claim, its verdict, an optional note and its anchor.

    Attributes
    ----------
    id : str
        The registry id, e.g. ``"eq-7"``.
    verdict : str
        One of ``VERDICTS``.
    note : str
        The condition (``conditional``) or the corrected statement (``wrong``); may be empty.
    anchor : str
        The HTML id of the cell's badge: ``claim-<id>``, or ``claim-<id>-<k>`` for the k-th cell
        of a page checking the same id. The ledger links to ``<page>.html#<anchor>``.

    Examples
    --------
    >>> rec = ClaimRecord("eq-1", "holds", "", "claim-eq-1")
    >>> 'id="claim-eq-1"' in rec.html()
    True
    """

    id: str
    verdict: str
    note: str
    anchor: str

    def html(self) -> str:
        """The badge: an HTML ``div`` whose ``id`` is the record's ``anchor``, with location and verdict."""
        c = registry()[self.id]
        colour = _COLOURS[self.verdict]
        label = {"wrong": "corrected: ", "conditional": "holds only if: ", "open": "open: "}.get(
            self.verdict, ""
        )
        note = f" — {html.escape(label + self.note)}" if self.note else ""
        return (
            f'<div class="claim-badge claim-{self.verdict}" id="{html.escape(self.anchor)}" '
            f'style="border-left:4px solid {colour};padding:0.1em 0.6em;margin:0.2em 0;'
            f'font-size:0.9em">'
            f"<b>Checks notes {html.escape(c.location)}</b> (<code>{html.escape(self.id)}</code>): "
            f'<span style="color:{colour};font-weight:600">{_VERDICT_TEXT[self.verdict]}</span>'
            f"{note}</div>"
        )

    def _ipython_display_(self) -> None:
        # claim() displays the badge (with its anchor) once; a record left as a cell's last
        # expression must not display it again, or the page would hold the same HTML id twice.
        if self.anchor in _shown:
            return
        _shown.add(self.anchor)
        from IPython.display import HTML, display

        display(HTML(self.html()))

    def __repr__(self) -> str:
        return f"ClaimRecord(id={self.id!r}, verdict={self.verdict!r})"


_COLOURS = {
    "holds": "#009E73",
    "conditional": "#E69F00",
    "wrong": "#D55E00",
    "definition": "#56B4E9",
    "answered": "#0072B2",
    "open": "#CC79A7",
}
_VERDICT_TEXT = {
    "holds": "holds",
    "conditional": "holds under conditions",
    "wrong": "wrong",
    "definition": "definition",
    "answered": "answered in the book",
    "open": "open",
}
_shown: set[str] = set()


@lru_cache(maxsize=1)
def registry() -> dict[str, Claim]:
    """All claims of the notes, keyed by id, in the order of the data file.

    Examples
    --------
    >>> reg = registry()
    >>> all(f"eq-{n}" in reg for n in range(1, 63))
    True
    """
    text = resources.files("sgdsde.book").joinpath("data/claims.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(text.splitlines())
    return {r["id"]: Claim(r["id"], r["location"], r["kind"], r["statement"]) for r in rows}


_seen: dict[str, int] = {}
_records: list[ClaimRecord] = []


def claim(
    claim_id: str, verdict: str, note: str = "", *, show: bool = True, how: str | None = None
) -> ClaimRecord:
    """Register that the current cell checks ``claim_id`` and reaches ``verdict``.

    Parameters
    ----------
    claim_id : str
        An id of the registry, e.g. ``"eq-7"`` or ``"s2.3-autocorrelation"``.
    verdict : {"holds", "conditional", "wrong", "definition"}
        What the cell shows about the notes' statement.
    note : str, optional
        One line: the condition, or the corrected form when the verdict is ``wrong``.
    show : bool, default True
        Display the badge (with its anchor) when running inside IPython.
    how : str, optional
        How the cell checks it, one of ``HOW`` or several joined by ``+``
        (``"symbolic+monte-carlo"``). The ledger infers it from the cell's source when omitted
        (:func:`sgdsde.book.ledger.parse.infer_how`).

    Returns
    -------
    ClaimRecord

    Raises
    ------
    ValueError
        If ``claim_id`` is not in the registry, ``verdict`` is not one of ``VERDICTS``, or
        ``verdict="wrong"`` comes without a ``note``.

    Examples
    --------
    >>> reset()
    >>> claim("eq-1", verdict="holds").anchor
    'claim-eq-1'
    >>> claim("eq-1", verdict="holds").anchor        # a second cell of the same page
    'claim-eq-1-2'
    >>> claim("eq-99", verdict="holds")
    Traceback (most recent call last):
    ...
    ValueError: claim_id='eq-99' is not in the claims registry (sgdsde/book/data/claims.csv)
    """
    if not isinstance(claim_id, str) or claim_id not in registry():
        raise ValueError(
            f"claim_id={claim_id!r} is not in the claims registry (sgdsde/book/data/claims.csv)"
        )
    if verdict not in VERDICTS:
        raise ValueError(f"verdict={verdict!r} must be one of {VERDICTS}")
    if verdict == "wrong" and not note:
        raise ValueError("verdict='wrong' needs a note with the corrected statement")
    if how is not None and (not isinstance(how, str) or not set(how.split("+")) <= set(HOW)):
        raise ValueError(f"how={how!r} must be one of {HOW}, or several joined by '+'")
    _seen[claim_id] = _seen.get(claim_id, 0) + 1
    k = _seen[claim_id]
    anchor = f"claim-{claim_id}" + (f"-{k}" if k > 1 else "")
    rec = ClaimRecord(claim_id, verdict, note, anchor)
    _records.append(rec)
    if show:
        try:
            from IPython import get_ipython

            if get_ipython() is not None:
                rec._ipython_display_()
        except ImportError:  # pragma: no cover
            pass
    return rec


def records() -> list[ClaimRecord]:
    """The claims recorded so far in this process (since :func:`reset`), in order.

    Examples
    --------
    >>> reset()
    >>> _ = claim("eq-2", verdict="holds")
    >>> records()
    [ClaimRecord(id='eq-2', verdict='holds')]
    """
    return list(_records)


def reset() -> None:
    """Forget the records and the per-id counts, as at the start of a page (a fresh kernel).

    Examples
    --------
    >>> reset()
    >>> records()
    []
    """
    _seen.clear()
    _records.clear()
    _shown.clear()
