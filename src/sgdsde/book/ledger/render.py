"""The ledger page's HTML: the table of claims with links to their cells, filters and counts.

``_static/ledger.js`` brings the filters, the search box and the sortable headers to life.

Examples
--------
>>> from sgdsde.book.ledger.render import notes_section
>>> notes_section("§1.8.3 (10)")
'§1'
"""

from __future__ import annotations

import html
import re
from collections import Counter

from ..claims import _COLOURS
from .model import SEVERITY, LedgerRow

__all__ = ["to_html", "summary_html", "page_labels", "notes_section"]

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
    >>> from sgdsde.book.ledger.model import Check
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


def to_html(rows: list[LedgerRow], from_page: str = "chapters/26_claims_ledger") -> str:
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
    >>> from sgdsde.book.ledger.model import Check, build
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
