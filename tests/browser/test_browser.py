"""The built book as a reader sees it: every page opened in headless Chromium.

Run after the book is built (``make browser``, part of ``make test``)::

    PYTHONPATH=src .venv/bin/python -m pytest -q tests/browser

Chromium is the Debian package (``apt-get install -y chromium``), driven by Playwright for Python
through ``executable_path``; Playwright's own browser download is never used. The site is served
from ``_build/html`` (or ``$BOOK_HTML``) by a local ``http.server`` on 127.0.0.1, and every request
to any other host is blocked and counted as a failure: the book must render with no network, its
MathJax included. All pages are loaded once, a few at a time in one browser, and each test below
reads the results:

* MathJax finished, and no formula holds an error (``merror``) or an undefined macro;
* no raw TeX (``$…$``, ``\\(``, ``\\[``, ``\\begin{``, a macro) is left visible outside code;
* every internal link resolves to a page, and its ``#anchor`` to an element of that page;
  no cross-reference is left unresolved;
* every image has loaded (``naturalWidth > 0``), and every figure has a non-empty alt text;
* every ``{glue}`` of the page's source shows its value, and no build error or warning is printed
  into the page;
* the download button offers the page's ``.md`` source and, for a notebook, the executed ``.ipynb``;
* no JavaScript error;
* on the claims ledger, a verdict filter shows as many rows as the ledger counts.

Screenshots of every page (light mode) and of one page in the theme's dark mode go to
``_build/screenshots/`` for a person to look at.
"""
from __future__ import annotations

import asyncio
import functools
import http.server
import json
import os
import re
import shutil
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
HTML = Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html")).resolve()
SHOTS = Path(os.environ.get("BOOK_SCREENSHOTS", HTML.parent / "screenshots"))
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
INSTALL = ("Chromium is not installed: the browser test needs Debian's package "
           "(as root: `apt-get update && apt-get install -y chromium`; .ci/run does this), "
           "or set CHROMIUM=/path/to/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        "--disable-dev-shm-usage"]
PARALLEL = int(os.environ.get("BROWSER_PAGES_AT_ONCE", "4"))
DARK_PAGE = "chapters/03_gradient_noise"          # a page with figures and formulas
LEDGER_PAGE = "chapters/26_claims_ledger"
SHOT_MAX_HEIGHT = 6000                    # px of a full-page screenshot (the ledger is very long)

if not Path(CHROMIUM).is_file() or not os.access(CHROMIUM, os.X_OK):
    pytest.skip(INSTALL, allow_module_level=True)
try:
    from playwright.async_api import async_playwright
except ImportError:  # pragma: no cover
    pytest.skip("Playwright for Python is missing: pip install -r requirements.txt",
                allow_module_level=True)
if not (HTML / "index.html").is_file():
    pytest.skip(f"no built book in {HTML}: run `make book` first", allow_module_level=True)

sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))


def _is_redirect(path: Path) -> bool:
    return 'http-equiv="refresh"' in path.read_text(encoding="utf-8", errors="replace")[:2000].lower()


def book_pages() -> list[str]:
    """Every HTML page of the built site, as ``chapters/02_setup`` (no suffix); no redirects."""
    skip = ("_static", "_sources", "_images", "_downloads")
    return sorted(p.relative_to(HTML).with_suffix("").as_posix() for p in HTML.rglob("*.html")
                  if p.relative_to(HTML).parts[0] not in skip and not _is_redirect(p))


PAGES = book_pages()
REDIRECTS = sorted(p.relative_to(HTML).as_posix() for p in HTML.glob("*.html") if _is_redirect(p))

# --------------------------------------------------------------------------- what runs in the page
PAGE_SCRIPT = r"""
async () => {
  const out = {mathjax: null, formulas: 0, mathErrors: [], rawTex: [], links: [], images: [],
               unresolved: [], problems: [], downloads: [], glued: 0, theme: null};
  out.theme = document.documentElement.dataset.theme || null;
  const hasMath = document.querySelector('.math, span.math, div.math') !== null;
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
    out.mathjax = MathJax.version || 'unknown';
    for (const item of MathJax.startup.document.math) {
      out.formulas += 1;
      const bad = [];
      item.root.walkTree(node => {
        if (node.isKind('merror')) bad.push('error: ' + (node.attributes.get('data-mjx-error') || 'merror'));
        if (node.isKind('mtext') && node.attributes.get('mathcolor') === 'red') {
          const t = node.childNodes.map(c => c.text || '').join('');
          if (t.startsWith('\\')) bad.push('undefined macro ' + t);
        }
      });
      if (bad.length) out.mathErrors.push(bad.join('; ') + ' in ' + String(item.math).slice(0, 80));
    }
    out.mathErrors.push(...Array.from(document.querySelectorAll('mjx-merror'))
      .map(e => 'mjx-merror: ' + (e.getAttribute('data-mjx-error') || e.textContent).slice(0, 80)));
  } else if (hasMath) {
    out.mathErrors.push('the page has formulas but MathJax did not load');
  }
  // Visible text outside code: no TeX left over.
  const skip = 'pre, code, kbd, samp, script, style, textarea, mjx-container, .highlight, .MathJax, .math';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const tex = /\$\$|\$[^$\s][^$]*\$|\\\(|\\\)|\\\[|\\\]|\\begin\{|\\[A-Za-z]{2,}[{_^]|\\(frac|mathbb|mathcal|alpha|beta|eta|theta|sigma|Sigma|nabla|sum|int|sqrt|top|E|Var|Semp|Spop|Sbatch)\b/;
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || el.closest(skip)) continue;
    const m = n.textContent.replace(/``[^`]*``/g, '').match(tex);  // ``…`` is code in reST text
    if (m && el.getClientRects().length) out.rawTex.push(n.textContent.trim().slice(0, 100));
  }
  out.links = Array.from(document.querySelectorAll('a[href]'))
    .map(a => ({href: a.href, raw: a.getAttribute('href'), text: a.textContent.trim().slice(0, 40)}));
  // Cross-references Sphinx could not resolve are left as spans (Python types excepted: their
  // references are deliberately free text, see nitpick_ignore_regex in _config.yml).
  out.unresolved = Array.from(document.querySelectorAll('span.xref, code.xref'))
    .filter(e => !e.closest('a, table.modindextable') && !/\bpy\b/.test(e.className))
    .map(e => e.className + ': ' + e.textContent.trim().slice(0, 60));
  for (const img of document.images) { img.loading = 'eager'; }
  await Promise.all(Array.from(document.images).map(img => img.decode().catch(() => null)));
  out.images = Array.from(document.images).map(img => ({
    src: img.getAttribute('src'), ok: img.complete && img.naturalWidth > 0,
    alt: (img.getAttribute('alt') || '').trim(),
    figure: !!img.closest('.bd-article figure, .bd-article .cell_output'),
  }));
  out.problems = Array.from(document.querySelectorAll('.problematic, .system-message, .system-messages'))
    .map(e => e.textContent.trim().slice(0, 120));
  const text = document.body.innerText;
  for (const m of text.matchAll(/\{glue(:[a-z]+)?\}`?[^\s`]*/g)) out.problems.push('raw glue: ' + m[0]);
  out.glued = document.querySelectorAll('.pasted-text, .pasted-inline, .pasted-math, .pasted-figure').length;
  out.downloads = Array.from(document.querySelectorAll('.dropdown-download-buttons a, .dropdown-download-buttons button'))
    .map(a => a.getAttribute('href') || a.getAttribute('onclick') || '');
  return out;
}
"""


@dataclass
class PageResult:
    page: str
    data: dict = field(default_factory=dict)
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)      # JS errors, failed loads
    blocked: list[str] = field(default_factory=list)     # requests to other hosts
    failed: list[str] = field(default_factory=list)      # local requests that failed (404, …)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output clean
        pass


@pytest.fixture(scope="session")
def server():
    handler = functools.partial(_Quiet, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


async def _open(context, base: str, page: str, result: PageResult, shot: Path | None,
                figure_shot: Path | None = None):
    start = asyncio.get_running_loop().time()
    p = await context.new_page()
    p.on("pageerror", lambda exc: result.errors.append(f"JavaScript error: {exc}"))
    # Requests to other hosts fail too (blocked by the route below); they are counted apart.
    p.on("requestfailed", lambda req: req.url.startswith(base) and result.failed.append(
        f"{req.url} ({req.failure})"))
    p.on("response", lambda resp: resp.status >= 400 and result.failed.append(
        f"{resp.url} (HTTP {resp.status})"))
    try:
        await p.goto(f"{base}/{page}.html", wait_until="load", timeout=60_000)
        result.data = await p.evaluate(PAGE_SCRIPT)
        if shot is not None:
            shot.parent.mkdir(parents=True, exist_ok=True)
            height = await p.evaluate("document.documentElement.scrollHeight")
            await p.screenshot(path=str(shot), full_page=True, timeout=60_000,
                               clip={"x": 0, "y": 0, "width": 1280,
                                     "height": min(height, SHOT_MAX_HEIGHT)})
        if figure_shot is not None:  # the first figure with its caption, as the theme shows it
            figure = await p.query_selector(".bd-article figure")
            if figure is None:
                result.errors.append("no figure on the page for the figure screenshot")
            else:
                await figure.screenshot(path=str(figure_shot), timeout=60_000)
    except Exception as exc:  # noqa: BLE001 - reported per page by the tests
        result.errors.append(f"could not open or inspect the page: {exc!r}"[:500])
    finally:
        await p.close()
        result.seconds = round(asyncio.get_running_loop().time() - start, 1)


async def _new_context(browser, base: str, results_blocked: dict, scheme: str):
    context = await browser.new_context(viewport={"width": 1280, "height": 900},
                                        color_scheme=scheme, service_workers="block")
    await context.add_init_script(f"localStorage.setItem('mode', '{scheme}');"
                                  f"localStorage.setItem('theme', '{scheme}');")

    async def route(r):
        url = r.request.url
        if url.startswith(base + "/") or url.startswith(("data:", "blob:")):
            await r.continue_()
        else:
            results_blocked.setdefault(r.request.frame.page.url if r.request.frame else "?", []).append(url)
            await r.abort("blockedbyclient")

    await context.route("**/*", route)
    return context


async def _crawl(base: str) -> dict[str, PageResult]:
    results = {page: PageResult(page) for page in PAGES}
    blocked: dict[str, list[str]] = {}
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            light = await _new_context(browser, base, blocked, "light")
            gate = asyncio.Semaphore(PARALLEL)

            async def one(page):
                async with gate:
                    await _open(light, base, page, results[page], SHOTS / f"{page}.png")

            await asyncio.gather(*(one(page) for page in PAGES))
            if DARK_PAGE in results:
                dark = await _new_context(browser, base, blocked, "dark")
                results["dark:" + DARK_PAGE] = PageResult("dark:" + DARK_PAGE)
                await _open(dark, base, DARK_PAGE, results["dark:" + DARK_PAGE],
                            SHOTS / f"{DARK_PAGE}-dark.png", SHOTS / f"{DARK_PAGE}-dark-figure.png")
            if LEDGER_PAGE in results:
                results["ledger-filter"] = await _ledger_filters(light, base)
        finally:
            await browser.close()
    for url, urls in blocked.items():
        page = urlsplit(url).path.lstrip("/").removesuffix(".html")
        if page in results:
            results[page].blocked += urls
        else:
            results.setdefault("other", PageResult("other")).blocked += urls
    return results


async def _ledger_filters(context, base: str) -> PageResult:
    """Click each verdict count above the ledger, then choose sections: record the rows shown."""
    res = PageResult("ledger-filter")
    p = await context.new_page()
    p.on("pageerror", lambda exc: res.errors.append(f"JavaScript error: {exc}"))
    try:
        await p.goto(f"{base}/{LEDGER_PAGE}.html", wait_until="load", timeout=60_000)
        await p.wait_for_selector("div.ledger[data-ready]", timeout=30_000)
        visible = "() => Array.from(document.querySelectorAll('table.claims-ledger tbody tr'))" \
                  ".filter(r => r.getClientRects().length > 0).length"
        shown = {}
        for link in await p.query_selector_all("a.ledger-count"):
            verdict = await link.get_attribute("data-verdict")
            label = (await link.inner_text()).strip()
            await link.click()
            shown[verdict or "all"] = {"label": int(label), "rows": await p.evaluate(visible),
                                       "hash": await p.evaluate("location.hash")}
        await p.select_option("select.ledger-filter[data-key=section]", "§2")
        await p.select_option("select.ledger-filter[data-key=verdict]", "")
        shown["section §2"] = {"rows": await p.evaluate(visible), "hash": await p.evaluate("location.hash")}
        await p.fill("input.ledger-search", "eq-7")
        await p.select_option("select.ledger-filter[data-key=section]", "")
        shown["search eq-7"] = {"rows": await p.evaluate(visible)}
        # Sorting by verdict puts the most severe first after two clicks (ascending, descending).
        await p.fill("input.ledger-search", "")
        await p.click("table.claims-ledger th:nth-child(4) button")
        await p.click("table.claims-ledger th:nth-child(4) button")
        shown["sorted first"] = {"verdict": await p.evaluate(
            "document.querySelector('table.claims-ledger tbody tr').dataset.verdict")}
        await p.goto(f"{base}/{LEDGER_PAGE}.html#verdict=conditional", wait_until="load")
        await p.wait_for_selector("div.ledger[data-ready]", timeout=30_000)
        shown["direct #verdict=conditional"] = {"rows": await p.evaluate(visible)}
        res.data = shown
    except Exception as exc:  # noqa: BLE001
        res.errors.append(f"ledger filters failed: {exc!r}"[:500])
    finally:
        await p.close()
    return res


@pytest.fixture(scope="session")
def crawl(server) -> dict[str, PageResult]:
    results = asyncio.run(_crawl(server))
    (SHOTS / "results.json").parent.mkdir(parents=True, exist_ok=True)
    (SHOTS / "results.json").write_text(json.dumps(
        {k: {"seconds": v.seconds, "errors": v.errors, "blocked": v.blocked, "failed": v.failed,
             "formulas": v.data.get("formulas") if isinstance(v.data, dict) else None}
         for k, v in results.items()}, indent=1))
    return results


def _ok(result: PageResult):
    assert not result.errors, "\n".join(result.errors)
    assert result.data, "the page was not inspected"


# --------------------------------------------------------------------------------------- the tests
@pytest.mark.parametrize("page", PAGES)
def test_mathematics_renders(crawl, page):
    r = crawl[page]
    _ok(r)
    assert not r.data["mathErrors"], f"{page}: MathJax errors:\n" + "\n".join(r.data["mathErrors"][:20])
    assert not r.data["rawTex"], f"{page}: raw TeX visible:\n" + "\n".join(r.data["rawTex"][:20])


@pytest.mark.parametrize("page", PAGES)
def test_nothing_is_fetched_from_elsewhere(crawl, page):
    r = crawl[page]
    assert not r.blocked, f"{page} requests other hosts (blocked; the book must work offline): {r.blocked[:10]}"
    assert not r.failed, f"{page}: requests that failed: {r.failed[:10]}"


def _ids(path: Path, cache: dict) -> set[str]:
    if path not in cache:
        text = path.read_text(encoding="utf-8", errors="replace")
        cache[path] = set(re.findall(r'\b(?:id|name)="([^"]+)"', text))
    return cache[path]


_IDS: dict = {}


@pytest.mark.parametrize("page", PAGES)
def test_links_and_anchors_resolve(crawl, server, page):
    r = crawl[page]
    _ok(r)
    bad = []
    for link in r.data["links"]:
        parts = urlsplit(link["href"])
        if parts.scheme not in ("http", "https") or not link["href"].startswith(server + "/"):
            continue  # mailto:, javascript:, external sites (not reachable offline; not checked)
        target = HTML / unquote(parts.path).lstrip("/")
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            bad.append(f"{link['raw']} ({link['text']!r}): no such file")
            continue
        frag = unquote(parts.fragment)
        if not frag or target.suffix != ".html":
            continue
        if "=" in frag and page == LEDGER_PAGE:
            continue  # the ledger's filter views (#verdict=wrong); test_ledger_filters clicks them
        if frag not in _ids(target, _IDS):
            bad.append(f"{link['raw']} ({link['text']!r}): no element with id {frag!r}")
    assert not bad, f"{page}: broken links:\n" + "\n".join(bad[:30])
    assert not r.data["unresolved"], f"{page}: unresolved references:\n" + "\n".join(r.data["unresolved"][:20])


@pytest.mark.parametrize("page", REDIRECTS)
def test_redirects_lead_to_a_page(page):
    text = (HTML / page).read_text(encoding="utf-8")
    target = re.search(r'url=([^"\s]+)"', text, re.I).group(1)
    assert (HTML / page).parent.joinpath(target).is_file(), f"{page} redirects to missing {target}"


@pytest.mark.parametrize("page", PAGES)
def test_images_load_and_have_alt_text(crawl, page):
    r = crawl[page]
    _ok(r)
    broken = [i["src"] for i in r.data["images"] if not i["ok"]]
    assert not broken, f"{page}: images that did not load: {broken}"
    no_alt = [i["src"] for i in r.data["images"] if i["figure"]
              and (not i["alt"] or re.fullmatch(r"<Figure size .*>", i["alt"]))]
    assert not no_alt, (f"{page}: figures without alt text (set `mystnb: image: alt:` in the "
                        f"figure cell's metadata): {no_alt}")


def _glue_roles(page: str) -> int:
    src = ROOT / f"{page}.md"
    if not src.is_file():
        return 0
    text = re.sub(r"(?ms)^(`{3,}|~{3,})\{code-cell\}.*?^\1\s*$", "", src.read_text(encoding="utf-8"))
    return len(re.findall(r"\{glue(?::(?:text|math|any))?\}`", text))  # {glue:md} renders bare


@pytest.mark.parametrize("page", PAGES)
def test_glued_numbers_and_no_build_messages(crawl, page):
    r = crawl[page]
    _ok(r)
    assert not r.data["problems"], f"{page}: error or warning text in the page:\n" + "\n".join(r.data["problems"][:20])
    expected = _glue_roles(page)
    assert r.data["glued"] >= expected, (
        f"{page}: {expected} glue roles in the source, only {r.data['glued']} glued values in the page")


@pytest.mark.parametrize("page", [p for p in PAGES if (ROOT / f"{p}.md").is_file()])
def test_download_button_offers_the_sources(crawl, page):
    r = crawl[page]
    _ok(r)
    downloads = " ".join(r.data["downloads"])
    assert re.search(rf"_sources/{re.escape(page)}\.md\b", downloads), f"{page}: no .md download: {downloads}"
    if (HTML.parent / "jupyter_execute" / f"{page}.ipynb").is_file():
        assert re.search(rf"_sources/{re.escape(page)}\.ipynb\b", downloads), \
            f"{page}: no .ipynb download: {downloads}"
        assert (HTML / "_sources" / f"{page}.ipynb").is_file()


def test_dark_mode(crawl):
    if DARK_PAGE not in PAGES:
        pytest.skip(f"{DARK_PAGE} is not in this build")
    r = crawl["dark:" + DARK_PAGE]
    _ok(r)
    assert r.data["theme"] == "dark", f"the theme did not switch to dark mode: {r.data['theme']}"
    assert (SHOTS / f"{DARK_PAGE}-dark.png").is_file()
    assert (SHOTS / f"{DARK_PAGE}-dark-figure.png").is_file()
    assert not r.data["mathErrors"] and all(i["ok"] for i in r.data["images"])


def test_ledger_filters(crawl):
    if LEDGER_PAGE not in PAGES:
        pytest.skip(f"{LEDGER_PAGE} is not in this build")
    from sgdsde.book import ledger

    res = crawl["ledger-filter"]
    _ok(res)
    rows = ledger.build(ledger.collect(ROOT)[0])
    counts = ledger.summary_counts(rows)
    shown = res.data
    for verdict in ("holds", "conditional", "wrong", "definition", "unchecked"):
        s = shown[verdict]
        assert s["label"] == counts[verdict] == s["rows"], (verdict, s, counts[verdict])
        assert s["hash"] == f"#verdict={verdict}"
    assert shown["all"]["rows"] == shown["all"]["label"] == counts["total"]
    in_s2 = sum(1 for r in rows if ledger.notes_section(r.claim.location) == "§2")
    assert shown["section §2"]["rows"] == in_s2 > 0
    assert "section=" in shown["section §2"]["hash"]
    assert 1 <= shown["search eq-7"]["rows"] < counts["total"]
    assert shown["sorted first"]["verdict"] == ("wrong" if counts["wrong"] else shown["sorted first"]["verdict"])
    assert shown["direct #verdict=conditional"]["rows"] == counts["conditional"]
