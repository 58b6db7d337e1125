"""The claims ledger is complete: every claim of the notes is checked by a cell of the book.

The ledger (chapters/26_claims_ledger.md) is generated from the ``claim("<id>", verdict=...)`` calls of
the chapters, parsed statically by :mod:`sgdsde.book.ledger`. These tests fail when

- a registry id has no checking cell in a page of ``_toc.yml`` (e.g. a checking cell was removed);
- a cell names an unknown id, an invalid verdict, or writes ``claim()`` so the parser cannot read it
  (over several lines, with variables, inside a loop or function);
- a numbered equation of the notes has no registry id ``eq-N``;
- the parser's anchors differ from the ones :func:`sgdsde.book.claims.claim` renders.
"""
from __future__ import annotations

import csv
import shutil
import sys
from collections import Counter
from pathlib import Path

import jupytext
import pytest

from sgdsde.book import claims as claims_mod
from sgdsde.book import ledger
from sgdsde.book.claims import VERDICTS, registry

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from conftest import is_text_notebook  # noqa: E402

#: The notes, where the checkout sits next to them (the project's shared folder); else the registry
#: alone defines the equation numbers (1..62).
NOTES = ROOT.parent / "shared" / "seed" / "sgd_noise_notes.txt"
N_EQUATIONS = 62
LEDGER_PAGE = "chapters/26_claims_ledger"


def toc_notebooks(root: Path = ROOT) -> list[str]:
    return [p for p in ledger.toc_pages(root)
            if (root / f"{p}.md").is_file() and is_text_notebook(root / f"{p}.md")]


def unchecked_ids(root: Path = ROOT) -> list[str]:
    """Registry ids that no cell of a table-of-contents page checks."""
    checks, _ = ledger.collect(root)
    checked = {c.id for c in checks}
    return [cid for cid in registry() if cid not in checked]


# ------------------------------------------------------------------------------ the registry
def test_registry_rows_are_well_formed():
    text = (ROOT / "src" / "sgdsde" / "book" / "data" / "claims.csv").read_text(encoding="utf-8")
    rows = list(csv.reader(text.splitlines()))
    assert rows[0] == ["id", "location", "kind", "statement"]
    bad = [r for r in rows[1:] if len(r) != 4 or not all(x.strip() for x in r)]
    assert not bad, f"claims.csv rows without exactly 4 non-empty fields (quote commas): {bad}"
    ids = Counter(r[0] for r in rows[1:])
    dup = sorted(k for k, v in ids.items() if v > 1)
    assert not dup, f"duplicate ids in claims.csv: {dup}"
    kinds = {r[0]: r[2] for r in rows[1:] if r[2] not in ("claim", "definition", "todo")}
    assert not kinds, f"kind must be 'claim', 'definition' or 'todo' (a to-do item of notes §3): {kinds}"


def test_every_numbered_equation_of_the_notes_has_an_id():
    if NOTES.is_file():
        numbers = ledger.notes_equation_numbers(NOTES.read_text(encoding="utf-8"))
        assert numbers == set(range(1, max(numbers) + 1)), "the notes' equation numbers have gaps"
    else:
        numbers = set(range(1, N_EQUATIONS + 1))
    missing = sorted(n for n in numbers if f"eq-{n}" not in registry())
    assert not missing, f"numbered equations of the notes without a registry id eq-N: {missing}"
    extra = sorted(cid for cid in registry() if cid.startswith("eq-") and int(cid[3:]) not in numbers)
    assert not extra, f"registry ids eq-N for equations the notes do not number: {extra}"


# ---------------------------------------------------------------------------- the chapters
def test_every_claim_call_is_valid_and_readable():
    _, problems = ledger.collect(ROOT)
    assert not problems, "claim() calls the ledger cannot use:\n" + "\n".join(problems)


def test_parser_sees_every_claim_call():
    """Independent count: jupytext splits the cells, tokens count the calls; the parser must agree."""
    for page in toc_notebooks():
        path = ROOT / f"{page}.md"
        nb = jupytext.read(path)
        n_calls = sum(ledger.count_claim_tokens(c.source) for c in nb.cells if c.cell_type == "code")
        checks, _ = ledger.parse_page(path, root=ROOT)
        assert len(checks) == n_calls, (
            f"{page}.md has {n_calls} claim( calls but the ledger parser reads {len(checks)}: "
            "write each as one top-level line claim(\"<id>\", verdict=\"...\", note=\"...\")"
        )


def test_every_registry_id_has_a_checking_cell():
    missing = unchecked_ids()
    assert not missing, (
        f"{len(missing)} claim(s) of the registry have no checking cell in a page of _toc.yml "
        f"(add claim(\"<id>\", verdict=...) to the cell that checks each): {missing}"
    )


def test_ledger_page_is_in_the_toc():
    assert LEDGER_PAGE in ledger.toc_pages(ROOT), f"add `- file: {LEDGER_PAGE}` to _toc.yml"


def test_parser_anchors_match_the_rendered_anchors():
    """claim() numbers anchors per id at run time; the parser must number them the same way."""
    checks, _ = ledger.collect(ROOT)
    by_page: dict[str, list] = {}
    for c in checks:
        by_page.setdefault(c.page, []).append(c)
    try:
        for page, cs in by_page.items():
            claims_mod.reset()  # a fresh kernel per page
            for c in cs:
                rec = claims_mod.claim(c.id, verdict=c.verdict, note=c.note, show=False)
                assert rec.anchor == c.anchor, (page, c.line, rec.anchor, c.anchor)
    finally:
        claims_mod.reset()


# --------------------------------------------------------------- the mechanism, on a toy book
TOY = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
    format_version: 0.13
kernelspec:
  name: python3
  display_name: Python 3
---

# Toy chapter (notes §1.8)

## Unbiasedness

```{code-cell} ipython3
# Checks notes (1).
claim("eq-1", verdict="holds")
assert True
```

## Covariance

```{code-cell} ipython3
:tags: [hide-input]
# Checks notes (7), a second time on this page for (1).
claim("eq-7", verdict="wrong", note="Σ_emp/B, not 1/R")
claim("eq-1", verdict="conditional", note="i.i.d. data")
assert True
```
"""


@pytest.fixture()
def toy_book(tmp_path: Path) -> Path:
    (tmp_path / "chapters").mkdir()
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: chapters/00_intro\nchapters:\n  - file: chapters/toy\n"
    )
    (tmp_path / "chapters" / "00_intro.md").write_text("# Intro\n")
    (tmp_path / "chapters" / "toy.md").write_text(TOY)
    return tmp_path


def test_toy_book_is_parsed(toy_book: Path):
    checks, problems = ledger.collect(toy_book)
    assert problems == []
    assert [(c.id, c.verdict, c.section, c.anchor) for c in checks] == [
        ("eq-1", "holds", "Unbiasedness", "claim-eq-1"),
        ("eq-7", "wrong", "Covariance", "claim-eq-7"),
        ("eq-1", "conditional", "Covariance", "claim-eq-1-2"),
    ]
    rows = {r.claim.id: r for r in ledger.build(checks)}
    assert rows["eq-1"].verdict == "conditional"  # the most severe of holds and conditional
    assert rows["eq-7"].verdict == "wrong"
    counts = ledger.summary_counts(list(rows.values()))
    assert counts["wrong"] == 1 and counts["conditional"] == 1 and counts["checks"] == 3
    assert counts["unchecked"] == len(registry()) - 2
    out = ledger.to_html(list(rows.values()))
    assert 'href="toy.html#claim-eq-1-2"' in out and "Σ_emp/B, not 1/R" in out


def test_removing_a_checking_cell_makes_the_ledger_test_fail(toy_book: Path):
    assert "eq-7" not in unchecked_ids(toy_book)
    page = toy_book / "chapters" / "toy.md"
    page.write_text(page.read_text().replace('claim("eq-7", verdict="wrong", note="Σ_emp/B, not 1/R")\n', ""))
    assert "eq-7" in unchecked_ids(toy_book)


def test_a_page_outside_the_toc_checks_nothing(toy_book: Path):
    shutil.copy(toy_book / "chapters" / "toy.md", toy_book / "chapters" / "stray.md")
    (toy_book / "chapters" / "toy.md").write_text("# Empty\n")
    assert "eq-7" in unchecked_ids(toy_book)


@pytest.mark.parametrize(
    "cell, message",
    [
        ('claim("eq-999", verdict="holds")', "not in the registry"),
        ('claim("eq-1", verdict="true")', "is not one of"),
        ('claim("eq-1", verdict="wrong")', "needs note="),
        ('claim("eq-1", "holds")', "with literal strings"),
        ('cid = "eq-1"\nclaim(cid, verdict="holds")', "with literal strings"),
        ('for c in ["eq-1"]:\n    claim(c, verdict="holds")', "outside loops"),
        ('if True:\n    claim("eq-1", verdict="holds")', "outside loops"),
        ('claim("eq-1", verdict="holds", show=False)', "no anchor"),
        ('claim("eq-1", verdict="holds"', "does not parse"),
        (':tags: [remove-output]\nclaim("eq-1", verdict="holds")', "must show its output"),
        ('---\ntags: [remove-cell]\n---\nclaim("eq-1", verdict="holds")', "must show its output"),
    ],
)
def test_unreadable_or_invalid_calls_are_reported(cell: str, message: str):
    checks, problems = ledger.parse_text(f"# T\n```{{code-cell}} ipython3\n{cell}\n```\n", page="p")
    assert checks == [] and len(problems) >= 1 and message in problems[0], problems


def test_a_claim_may_span_lines_to_fit_the_text_column():
    cell = 'claim(\n    "eq-1",\n    verdict="holds",\n    note="wrapped at 88 characters",\n)'
    checks, problems = ledger.parse_text(f"# T\n```{{code-cell}} ipython3\n{cell}\n```\n", page="p")
    assert problems == [] and [(c.id, c.verdict, c.line) for c in checks] == [("eq-1", "holds", 3)]


def test_prose_comments_and_other_fences_are_not_calls():
    src = (
        "# T\n"
        'Cells call `claim("eq-1", verdict="holds")` first.\n'
        "```python\nclaim(\"eq-2\", verdict=\"holds\")\n```\n"
        "````{prf:proof}\n:label: p\n```{math}\nx\n```\n## not a heading\n````\n"
        "```{code-cell} ipython3\n# claim(\"eq-3\", verdict=\"holds\") is in a comment\n"
        "text = 'claim(\"eq-4\", verdict=\"holds\")'\n%time x = 1\n"
        "rec = claim(\"eq-5\", verdict=\"definition\")  # trailing comment\n```\n"
    )
    checks, problems = ledger.parse_text(src, page="chapters/t")
    assert problems == []
    assert [(c.id, c.line, c.section) for c in checks] == [("eq-5", 17, "T")]


def test_verdicts_known_to_the_ledger():
    assert set(ledger.SEVERITY) == set(VERDICTS)
