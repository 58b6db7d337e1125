"""One figure style for the whole book: every chapter that draws calls use_book_style() first.

The style lives in ``sgdsde/book/book.mplstyle`` (applied by :func:`sgdsde.book.plotting.use_book_style`).
A chapter that plots must apply it before its first figure, must not restyle matplotlib on its own,
and each figure cell carries a caption and a ``fig-`` name (``mystnb: figure:`` cell metadata) so
it is numbered and can be referenced.
"""
from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

import jupytext

from sgdsde.book.ledger import toc_pages

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from conftest import is_text_notebook  # noqa: E402

DRAWS = re.compile(r"\bplt\.(?:plot|subplots?|figure|show|imshow|hist|scatter|loglog|semilogy|semilogx)\b"
                   r"|\.(?:plot|imshow|scatter|hist|loglog|semilogy|semilogx|contourf?|quiver|streamplot)\(")
STYLE_CALL = re.compile(r"^\s*(?:sgdsde\.plotting\.)?use_book_style\(\)", re.M)
RESTYLE = re.compile(r"plt\.style\.use\(|rcParams\s*(?:\[|\.update)|matplotlib\.rc\(|plt\.rc\(")


def notebooks():
    for page in toc_pages(ROOT):
        path = ROOT / f"{page}.md"
        if path.is_file() and is_text_notebook(path):
            yield page, jupytext.read(path)


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_every_chapter_with_a_figure_uses_the_book_style():
    offenders = []
    for page, nb in notebooks():
        cells = code_cells(nb)
        drawing = [i for i, c in enumerate(cells) if DRAWS.search(c.source)]
        if not drawing:
            continue
        styled = [i for i, c in enumerate(cells) if STYLE_CALL.search(c.source)]
        if not styled or styled[0] > drawing[0]:
            offenders.append(page)
    assert not offenders, (
        "chapters that draw without calling use_book_style() first "
        f"(from sgdsde.book.plotting import use_book_style; use_book_style()): {offenders}"
    )


def test_no_chapter_restyles_matplotlib():
    offenders = [page for page, nb in notebooks() for c in code_cells(nb) if RESTYLE.search(c.source)]
    assert not offenders, f"chapters that change matplotlib's style themselves (use the book style): {offenders}"


def test_figure_cells_have_a_caption_and_a_name():
    bad, names = [], Counter()
    for page, nb in notebooks():
        for c in code_cells(nb):
            if not re.search(r"\bplt\.show\(\)", c.source):
                continue
            fig = c.metadata.get("mystnb", {}).get("figure", {})
            name = str(fig.get("name", ""))
            if not str(fig.get("caption", "")).strip() or not name.startswith("fig-"):
                bad.append(f"{page}: {c.source.splitlines()[0][:60]!r}")
            names[name] += 1
    assert not bad, f"figure cells without mystnb.figure caption and a fig-… name: {bad}"
    dup = sorted(n for n, k in names.items() if n and k > 1)
    assert not dup, f"figure names used twice: {dup}"


# ------------------------------------------------------------------- figures for every reader
OKABE_ITO = {"#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"}


def test_palette_is_colour_blind_safe():
    import matplotlib.pyplot as plt

    from sgdsde.book.plotting import PALETTE, use_book_style

    assert {c.upper() for c in PALETTE} == OKABE_ITO
    with plt.rc_context():
        use_book_style()
        cycle = [c.upper().lstrip("#") for c in plt.rcParams["axes.prop_cycle"].by_key()["color"]]
        assert cycle == [c.lstrip("#") for c in PALETTE]
        assert plt.rcParams["image.cmap"] in {"viridis", "cividis"}  # perceptually uniform, CVD-safe


def test_figures_have_an_opaque_white_background():
    """Readable in the theme's dark mode: black text and lines never sit on a transparent figure."""
    import matplotlib.colors as mcolors
    import matplotlib.pyplot as plt

    from sgdsde.book.plotting import use_book_style

    with plt.rc_context():
        use_book_style()
        for key in ("figure.facecolor", "savefig.facecolor"):
            assert mcolors.to_rgba(plt.rcParams[key]) == (1.0, 1.0, 1.0, 1.0), key
        assert plt.rcParams["savefig.transparent"] is False


def test_every_figure_cell_gets_alt_text():
    """Alt text: the cell's ``mystnb: image: alt:``, else the caption's first sentence (_ext hook).

    The browser test (tests/browser) checks the built pages: every figure image has non-empty alt
    text there.
    """
    sys.path.insert(0, str(ROOT / "_ext"))
    from book_hooks import figure_alt_text

    bad = []
    for page, nb in notebooks():
        for c in code_cells(nb):
            meta = c.metadata.get("mystnb", {})
            if "figure" not in meta:
                continue
            alt = str(meta.get("image", {}).get("alt", "")).strip() or figure_alt_text(
                str(meta["figure"].get("caption", "")))
            if len(alt) < 15:
                bad.append(f"{page}: {meta['figure'].get('name')}: alt text {alt!r}")
    assert not bad, f"figures whose alt text would be empty or too short: {bad}"
