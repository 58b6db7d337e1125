"""Eight small Sphinx hooks for the book (registered in _config.yml under ``sphinx: local_extensions``).

1. **Notebook download.** myst-nb writes each executed notebook to ``_build/jupyter_execute/<page>.ipynb``.
   Before sphinx-book-theme assembles its download menu, the notebook is copied next to the page's
   source in ``_build/html/_sources/`` and announced as ``ipynb_source``, so the menu offers the
   executed ``.ipynb`` (outputs included) besides the ``.md`` source. The theme does this itself
   only when a Binder/JupyterHub launch button is configured; the book has none.
2. **Bars in docstrings.** ``sgdsde``'s docstrings write absolute values and determinants as
   ``|x|``; in reStructuredText that is a substitution reference (an error). Before autodoc parses a
   docstring, a ``|`` in running text is escaped; code (````…````, roles, doctests, literal blocks)
   and table or line-block lines (starting with ``|`` or ``+``) are left as written.
3. **Inline figures.** ipykernel gives a kernel its inline matplotlib backend only when
   ``MPLBACKEND`` is unset; a build started with ``MPLBACKEND=Agg`` (handy for headless tests) would
   execute every chapter with Agg and silently drop every figure from the book. The variable is
   removed from the build's environment, which the kernels inherit.
4. **Author–year bibliography.** The text cites author–year (``bibtex_reference_style:
   author_year``); the bibliography's labels match it: ``[Mandt et al., 2017]`` instead of ``[2]``,
   through a pybtex style ``authoryear`` (the ``plain`` style with these labels) that
   ``bibtex_default_style`` names.
5. **Ledger links.** After the HTML build, every link to a ``#claim-…`` fragment (the claims ledger
   links each claim to the badge of the cell that checks it) must point at an element with that id
   in the target page; otherwise a warning is logged, which ``-W`` turns into a failed build.
6. **MathJax served with the book.** ``mathjax_path`` (``_config.yml``) points at
   ``_static/mathjax/tex-mml-chtml.js``. After the HTML build, MathJax 3's ES5 build is copied there
   from the pinned PyPI package ``django-static-mathjax`` (``requirements.txt``; it has no
   dependencies and ships the MathJax 3.2.2 distribution as files), so the built site renders its
   mathematics with no network: for a reader who downloads it, and in the browser test, which blocks
   every non-local request. Only what ``tex-mml-chtml.js`` loads is copied (the combined file, its
   fonts, and the extensions, menu, accessibility and speech components it may load on demand), not
   the package's sources. It is not in the book's ``_static`` folder because Jupyter Book adds every
   ``.js`` file found there to every page.
7. **Alt text for figures.** A figure drawn by a cell (``mystnb: figure:`` metadata) gets no alt
   text from myst-nb unless the cell sets ``mystnb: image: alt:``; a screen reader then reads the
   file name. Each such image gets the first sentence of its figure's caption (the caption itself
   follows, read in full); an alt text set in the cell's metadata is kept.
8. **Each script once.** Jupyter Book registers sphinx-thebe's inline configuration script twice,
   so every page threw ``SyntaxError: Identifier 'THEBE_JS_URL' has already been declared`` (the
   browser test fails on any JavaScript error). A page's scripts are de-duplicated before it is
   written.
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from urllib.parse import unquote

from sphinx.util import logging

logger = logging.getLogger(__name__)

_HREF = re.compile(r'<a\s[^>]*?href="(?P<page>[^"#]*\.html)?#(?P<frag>claim-[^"]+)"')
_CODE_SPAN = re.compile(r"(``.+?``|`[^`]*`)")


def escape_bars(app, what, name, obj, options, lines):
    in_block = False      # a doctest block (until a blank line) or a literal block (until dedent)
    block_indent = -1
    literal_next = False
    for i, line in enumerate(lines):
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if in_block:
            if block_indent < 0:  # doctest: ends at a blank line
                if not stripped:
                    in_block = False
                continue
            if not stripped or indent > block_indent:
                continue
            in_block = False
        if literal_next and stripped:
            literal_next = False
            if indent > block_indent:
                in_block = True
                continue
        if stripped.startswith(">>>"):
            in_block, block_indent = True, -1
            continue
        if stripped.endswith("::"):
            literal_next, block_indent = True, indent
        if "|" not in line or stripped.startswith(("|", "+")):
            continue
        parts = _CODE_SPAN.split(line)
        lines[i] = "".join(p if k % 2 else p.replace("|", r"\|") for k, p in enumerate(parts))


def offer_executed_notebook(app, pagename, templatename, context, doctree):
    if app.builder.format != "html" or doctree is None:
        return
    executed = Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"
    if not executed.is_file():
        return
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(executed, target)
    context["ipynb_source"] = f"{pagename}.ipynb"


def dedupe_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for js in scripts:
        key = (getattr(js, "filename", str(js)) or "", repr(sorted(getattr(js, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            kept.append(js)
    scripts[:] = kept


def check_claim_links(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    ids_cache: dict[Path, set[str]] = {}
    for page in sorted(outdir.rglob("*.html")):
        if page.is_relative_to(outdir / "_static") or page.is_relative_to(outdir / "_sources"):
            continue
        text = page.read_text(encoding="utf-8")
        for m in _HREF.finditer(text):
            target = (page.parent / unquote(m.group("page"))).resolve() if m.group("page") else page
            if target not in ids_cache:
                ids_cache[target] = (
                    set(re.findall(r'\bid="([^"]+)"', target.read_text(encoding="utf-8")))
                    if target.is_file() else set()
                )
            frag = unquote(m.group("frag"))
            if frag not in ids_cache[target]:
                logger.warning(
                    "%s links to %s#%s, but no element there has that id (is the checking cell's "
                    "claim() badge rendered?)",
                    page.relative_to(outdir), target.relative_to(outdir.resolve()) if target.is_relative_to(outdir.resolve()) else target, frag,
                    type="sgdsde", subtype="claim-link",
                )


#: What ``tex-mml-chtml.js`` may load, relative to MathJax's ``es5`` folder.
MATHJAX_PARTS = ("tex-mml-chtml.js", "input", "output", "ui", "a11y", "sre", "adaptors")


def mathjax_source() -> Path:
    """The ``es5`` folder of the MathJax 3 copy shipped by ``django-static-mathjax``."""
    from importlib import util

    spec = util.find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "MathJax is not installed: pip install -r requirements.txt (django-static-mathjax)")
    es5 = Path(next(iter(spec.submodule_search_locations))) / "static" / "mathjax" / "es5"
    if not (es5 / "tex-mml-chtml.js").is_file():
        raise FileNotFoundError(f"{es5}/tex-mml-chtml.js is missing (django-static-mathjax damaged?)")
    return es5


def copy_mathjax(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    try:
        es5 = mathjax_source()
    except FileNotFoundError as err:
        logger.warning("%s; the book's formulas will not render", err, type="sgdsde", subtype="mathjax")
        return
    for part in MATHJAX_PARTS:
        src = es5 / part
        if src.is_dir():
            shutil.copytree(src, target / part, dirs_exist_ok=True)
        else:
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target / part)
    shutil.copy2(es5.parent / "LICENSE", target / "LICENSE")


def figure_alt_text(caption: str, limit: int = 160) -> str:
    """The first sentence of a figure caption, as the image's alt text.

    >>> figure_alt_text("Noise variance E‖ξ‖² against B. Points are estimates (±2 SE).")
    'Noise variance E‖ξ‖² against B.'
    >>> figure_alt_text("Left, tr Σ_emp(θ) over a slice, e.g. of θ near 0; right, λ_max")
    'Left, tr Σ_emp(θ) over a slice, e.g. of θ near 0; right, λ_max'
    """
    text = " ".join(caption.split())
    m = re.search(r"(?<!\be\.g)(?<!\bi\.e)(?<!\bcf)[.!?](?=\s+[A-Z(])", text)
    first = text[: m.end()] if m else text
    if len(first) > limit:
        first = first[: limit - 1].rsplit(" ", 1)[0] + "…"
    return first


def add_figure_alt_text(app, doctree, docname):
    from docutils import nodes

    for figure in doctree.findall(nodes.figure):
        captions = list(figure.findall(nodes.caption))
        if not captions:
            continue
        alt = figure_alt_text(captions[0].astext())
        for image in figure.findall(nodes.image):
            current = str(image.get("alt", "")).strip()
            if not current or current.startswith("<Figure size") or current == image.get("uri"):
                image["alt"] = alt


def _register_authoryear_style():
    from collections import Counter

    from pybtex.plugin import register_plugin
    from pybtex.richtext import Text
    from pybtex.style.formatting.plain import Style as PlainStyle
    from pybtex.style.labels import BaseLabelStyle

    class AuthorYearLabels(BaseLabelStyle):
        """``Last, year``, ``Last & Other, year`` or ``Last et al., year``; a, b, … on clashes."""

        def format_label(self, entry):
            people = entry.persons.get("author") or entry.persons.get("editor") or []
            names = [" ".join(p.last_names) or " ".join(p.first_names) for p in people]
            names = [Text.from_latex(n).render_as("text") for n in names]  # H{\'a}jek → Hájek
            if len(names) > 2:
                who = f"{names[0]} et al."
            else:
                who = " & ".join(names) or entry.key
            return f"{who}, {entry.fields.get('year', 'n.d.')}"

        def format_labels(self, sorted_entries):
            labels = [self.format_label(e) for e in sorted_entries]
            count, seen = Counter(labels), Counter()
            for label in labels:
                if count[label] == 1:
                    yield label
                else:
                    yield label + chr(ord("a") + seen[label])
                    seen[label] += 1

    class AuthorYearStyle(PlainStyle):
        default_label_style = "authoryear"
        default_sorting_style = "author_year_title"

    register_plugin("pybtex.style.labels", "authoryear", AuthorYearLabels, force=True)
    register_plugin("pybtex.style.formatting", "authoryear", AuthorYearStyle, force=True)


def setup(app):
    _register_authoryear_style()
    backend = os.environ.get("MPLBACKEND", "")
    if backend and "inline" not in backend:
        logger.info("book_hooks: unsetting MPLBACKEND=%s so that notebook kernels draw inline figures", backend)
        del os.environ["MPLBACKEND"]
    # priority < 501: before sphinx-book-theme's add_header_buttons reads ipynb_source
    app.connect("html-page-context", offer_executed_notebook, priority=400)
    app.connect("html-page-context", dedupe_scripts, priority=900)
    app.connect("autodoc-process-docstring", escape_bars)
    app.connect("build-finished", check_claim_links)
    app.connect("build-finished", copy_mathjax)
    app.connect("doctree-resolved", add_figure_alt_text)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1.0"}
