"""Every work in references.bib is cited in the book, every citation resolves, entries suit author–year.

The bibliography page (chapters/29_bibliography.md) lists the works cited in the pages of ``_toc.yml``
(sphinxcontrib-bibtex, ``bibtex_reference_style: author_year``). An entry that nothing cites would
silently vanish from that page, so it is reported here by key.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from pybtex.database import parse_file

from sgdsde.book.ledger import toc_pages

ROOT = Path(__file__).resolve().parents[1]
BIB = ROOT / "references.bib"
#: {cite}`a,b`, {cite:p}`a`, {cite:t}`a`, {cite:ps}`a`, ..., {footcite}`a`
CITE = re.compile(r"\{(?:foot)?cite(?::[a-z]+)?\}`([^`]+)`")


def cited_keys() -> dict[str, set[str]]:
    """Cited key → the pages of the table of contents that cite it."""
    out: dict[str, set[str]] = {}
    for page in toc_pages(ROOT):
        path = ROOT / f"{page}.md"
        if not path.is_file():
            continue
        for m in CITE.finditer(path.read_text(encoding="utf-8")):
            for key in m.group(1).split(","):
                out.setdefault(key.strip(), set()).add(page)
    return out


@pytest.fixture(scope="module")
def bib():
    return parse_file(str(BIB), bib_format="bibtex")


def test_every_bib_entry_is_cited(bib):
    uncited = sorted(set(bib.entries) - set(cited_keys()))
    assert not uncited, (
        f"{len(uncited)} entr(y/ies) of references.bib are cited by no page of _toc.yml "
        f"(cite them with {{cite:p}}`key` where the text uses them, or remove them): {uncited}"
    )


def test_every_citation_is_in_the_bib(bib):
    unknown = {k: sorted(v) for k, v in cited_keys().items() if k not in bib.entries}
    assert not unknown, f"cited keys missing from references.bib: {unknown}"


def test_entries_have_author_year_and_title(bib):
    bad = {
        key: [f for f in ("author", "year", "title")
              if not (e.persons.get("author") or e.persons.get("editor") if f == "author" else e.fields.get(f))]
        for key, e in bib.entries.items()
    }
    bad = {k: v for k, v in bad.items() if v}
    assert not bad, f"entries without the fields an author–year citation needs: {bad}"


def test_bibliography_page_is_in_the_toc_and_holds_the_directive():
    assert "chapters/29_bibliography" in toc_pages(ROOT)
    assert "```{bibliography}" in (ROOT / "chapters" / "29_bibliography.md").read_text(encoding="utf-8")
