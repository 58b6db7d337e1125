"""Record which claim of the notes a cell checks; the claims ledger is built from these records.

The registry of claims (every numbered equation and every stated claim of the notes) lives in one
data file, ``sgdsde/data/claims.csv`` (columns ``id, location, kind, statement``). A checking cell
calls :func:`claim` first; the call validates the id and the verdict and, inside a notebook,
renders a small badge carrying an HTML anchor ``claim-<id>`` (``claim-<id>-2`` for the second cell
checking the same id in a page), which the ledger links to.

Examples
--------
>>> from sgdsde.claims import claim, registry
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
#: ``definition`` = a definition, nothing to prove (still shown where it is used).
VERDICTS = ("holds", "conditional", "wrong", "definition")


@dataclass(frozen=True)
class Claim:
    """One row of the registry."""

    id: str
    location: str
    kind: str
    statement: str


@dataclass(frozen=True)
class ClaimRecord:
    """What a checking cell records: the claim, its verdict, an optional note and its anchor."""

    id: str
    verdict: str
    note: str
    anchor: str

    def _repr_html_(self) -> str:
        c = registry()[self.id]
        return (
            f'<div class="claim-badge claim-{self.verdict}" id="{self.anchor}">'
            f"<b>Checks notes {html.escape(c.location)}</b> ({html.escape(self.id)}): "
            f"<i>{self.verdict}</i>{' — ' + html.escape(self.note) if self.note else ''}</div>"
        )

    def __repr__(self) -> str:
        return f"ClaimRecord(id={self.id!r}, verdict={self.verdict!r})"


@lru_cache(maxsize=1)
def registry() -> dict[str, Claim]:
    """All claims of the notes, keyed by id, in the order of the data file."""
    text = resources.files("sgdsde").joinpath("data/claims.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(text.splitlines())
    return {r["id"]: Claim(r["id"], r["location"], r["kind"], r["statement"]) for r in rows}


_seen: dict[str, int] = {}
_records: list[ClaimRecord] = []


def claim(claim_id: str, verdict: str, note: str = "", *, show: bool = True) -> ClaimRecord:
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

    Returns
    -------
    ClaimRecord

    Raises
    ------
    ValueError
        If ``claim_id`` is not in the registry or ``verdict`` is not one of :data:`VERDICTS`.
    """
    if not isinstance(claim_id, str) or claim_id not in registry():
        raise ValueError(
            f"claim_id={claim_id!r} is not in the claims registry (sgdsde/data/claims.csv)"
        )
    if verdict not in VERDICTS:
        raise ValueError(f"verdict={verdict!r} must be one of {VERDICTS}")
    if verdict == "wrong" and not note:
        raise ValueError("verdict='wrong' needs a note with the corrected statement")
    _seen[claim_id] = _seen.get(claim_id, 0) + 1
    k = _seen[claim_id]
    anchor = f"claim-{claim_id}" + (f"-{k}" if k > 1 else "")
    rec = ClaimRecord(claim_id, verdict, note, anchor)
    _records.append(rec)
    if show:
        try:
            from IPython import get_ipython
            from IPython.display import display

            if get_ipython() is not None:
                display(rec)
        except ImportError:  # pragma: no cover
            pass
    return rec


def records() -> list[ClaimRecord]:
    """The claims recorded so far in this process, in order."""
    return list(_records)
