"""Build the claims ledger from the chapters' sources: which cell checks which claim of the notes.

Every checking cell of a chapter calls :func:`sgdsde.book.claims.claim` with literal strings (it may
span lines), ``claim("eq-7", verdict="holds", note="...")``. This module finds those calls *statically*
in the MyST sources (``chapters/*.md``) of the pages listed in ``_toc.yml``, without running
anything, and joins them with the registry (``sgdsde/book/data/claims.csv``) into one ledger row per
claim. Each call gets the anchor that :func:`~sgdsde.book.claims.claim` renders in the cell's output
(``claim-<id>`` for the first call of an id on a page, ``claim-<id>-<k>`` for the k-th), so the
ledger can link to ``<page>.html#claim-<id>``.

Layout, lower floors first: :mod:`~sgdsde.book.ledger.markdown` (scanning the MyST sources),
:mod:`~sgdsde.book.ledger.model` (:class:`~sgdsde.book.ledger.model.Check`,
:class:`~sgdsde.book.ledger.model.LedgerRow`, :func:`~sgdsde.book.ledger.model.build`),
:mod:`~sgdsde.book.ledger.parse` (the ``claim(...)`` calls, read with ``ast``; the pages of
``_toc.yml``), :mod:`~sgdsde.book.ledger.render` (the ledger page's HTML) and
:mod:`~sgdsde.book.ledger.consistency` (one verdict per claim, boxes that agree with verdicts,
every statement of the notes registered). Every public name is importable from here.

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
>>> c.id, c.verdict, c.section, c.anchor, c.href("chapters/26_claims_ledger")
('s1.3-unbiased', 'holds', 'The unbiased gradient', 'claim-s1.3-unbiased', 'setup.html#claim-s1.3-unbiased')
>>> problems
[]
"""

from __future__ import annotations

from .consistency import (
    BOX_KINDS,
    ITEM_SECTIONS,
    Box,
    box_problems,
    boxes_beside,
    notes_equation_numbers,
    notes_items,
    registered_items,
    verdict_conflicts,
)
from .model import SEVERITY, Check, LedgerRow, build, summary_counts
from .parse import (
    collect,
    count_claim_tokens,
    find_root,
    infer_how,
    parse_page,
    parse_text,
    toc_pages,
)
from .render import notes_section, page_labels, summary_html, to_html

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
    "BOX_KINDS",
]
