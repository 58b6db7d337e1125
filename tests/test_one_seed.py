"""The one-seed rule: every random draw of a chapter derives from the page's ``SEED``.

For every notebook page of ``_toc.yml`` (code cells read through jupytext, parsed with ``ast``):

1. no literal seed: ``manual_seed(<const>)``, ``default_rng(<const>)``, ``np.random.seed(<const>)``,
   ``random.seed(<const>)``, ``RandomState(<const>)``, ``seed=<const>`` … (a constant expression,
   one without any name in it, e.g. ``seed=3`` or ``manual_seed(1 + 2)``);
2. a chapter with any randomness sets ``SEED = page_seed(...)`` in its ``parameters``-tagged cell;
3. every call of an ``sgdsde`` function or class whose signature has a ``seed`` or ``generator``
   parameter passes one of them (calls resolved through the chapter's own imports of ``sgdsde``
   modules and names; method calls on objects are not resolved);
4. a chapter that draws from torch's global RNG (``torch.randn(...)`` without ``generator=``) seeds it
   with ``torch.manual_seed(<expression of SEED>)``; numpy's legacy global RNG is not used.

The test is parametrised by chapter, so a failure names the page.
"""
from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import sys
from functools import lru_cache
from pathlib import Path

import jupytext
import pytest

import sgdsde
from sgdsde.book import ledger

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from conftest import is_text_notebook  # noqa: E402

SEED_FUNCS = {"manual_seed", "manual_seed_all", "default_rng", "seed", "RandomState", "SeedSequence",
              "PCG64", "Philox", "MT19937", "SFC64", "Random"}
SEED_KWARGS = {"seed", "random_state", "entropy"}
TORCH_GLOBAL = {"randn", "rand", "randint", "randperm", "normal", "bernoulli", "multinomial",
                "randn_like", "rand_like", "randint_like", "poisson"}
NP_SEEDED = {"default_rng", "Generator", "SeedSequence", "PCG64", "Philox", "MT19937", "SFC64",
             "BitGenerator"}


def chapters() -> list[str]:
    return [p for p in ledger.toc_pages(ROOT)
            if (ROOT / f"{p}.md").is_file() and is_text_notebook(ROOT / f"{p}.md")]


@lru_cache(maxsize=1)
def seeded_api() -> dict[str, dict[str, inspect.Signature]]:
    """``{module: {name: signature}}`` of sgdsde's public functions/classes taking seed or generator."""
    out: dict[str, dict[str, inspect.Signature]] = {}
    mods = ["sgdsde"] + [m.name for m in pkgutil.walk_packages(sgdsde.__path__, "sgdsde.")
                         if not m.name.split(".")[-1].startswith("_")]
    for name in mods:
        try:
            mod = importlib.import_module(name)
        except Exception:  # pragma: no cover - an optional dependency missing
            continue
        for attr, obj in vars(mod).items():
            if attr.startswith("_") or not callable(obj):
                continue
            if not getattr(obj, "__module__", "").startswith("sgdsde"):
                continue
            try:
                sig = inspect.signature(obj)
            except (TypeError, ValueError):
                continue
            if {"seed", "generator"} & set(sig.parameters):
                out.setdefault(name, {})[attr] = sig
    return out


def _is_const(node: ast.AST) -> bool:
    """A constant expression: no name, attribute or call anywhere in it (``3``, ``1 + 2``, ``None``)."""
    return not any(isinstance(n, (ast.Name, ast.Attribute, ast.Call)) for n in ast.walk(node))


def _mentions(node: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node))


def _func_name(call: ast.Call) -> str:
    f = call.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else ""
    return ""


def _python(source: str) -> ast.Module:
    lines = ["" if ln.lstrip().startswith(("%", "!")) else ln for ln in source.split("\n")]
    return ast.parse("\n".join(lines))


def violations(text: str, page: str = "page") -> list[str]:
    """Every breach of the one-seed rule in one MyST notebook source."""
    nb = jupytext.reads(text, fmt="md:myst")
    cells = [c for c in nb.cells if c.cell_type == "code"]
    api = seeded_api()
    modules: dict[str, str] = {}    # local alias -> sgdsde module
    names: dict[str, tuple[str, str]] = {}  # local name -> (module, attr)
    problems: list[str] = []
    random_use = False
    torch_global = False
    torch_seeded = False
    page_seed_ok = False
    for k, cell in enumerate(cells):
        where = f"{page}.md, code cell {k}"
        try:
            tree = _python(cell.source)
        except SyntaxError:
            problems.append(f"{where}: does not parse")
            continue
        if "parameters" in cell.metadata.get("tags", []):
            for node in ast.walk(tree):
                if (isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "SEED"
                                                         for t in node.targets)
                        and isinstance(node.value, ast.Call) and _func_name(node.value) == "page_seed"):
                    page_seed_ok = True
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sgdsde"):
                for a in node.names:
                    full = f"{node.module}.{a.name}"
                    if full in api or full in sys.modules and full.startswith("sgdsde."):
                        modules[a.asname or a.name] = full
                    else:
                        names[a.asname or a.name] = (node.module, a.name)
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.startswith("sgdsde"):
                        modules[a.asname or a.name] = a.name
            if not isinstance(node, ast.Call):
                continue
            fname = _func_name(node)
            dotted = _dotted(node.func)
            line = f"{where}, line {node.lineno}"
            # 1. literal seeds
            if fname in SEED_FUNCS and node.args and _is_const(node.args[0]) and (
                    fname != "seed" or dotted.endswith("random.seed")):
                problems.append(f"{line}: literal seed {ast.unparse(node)[:60]}; derive it from SEED")
            if fname in SEED_FUNCS or fname == "Generator":
                random_use = True
            for kw in node.keywords:
                if kw.arg in SEED_KWARGS | {"generator"}:
                    random_use = True
                if kw.arg in SEED_KWARGS and _is_const(kw.value):
                    problems.append(f"{line}: literal {kw.arg}={ast.unparse(kw.value)}; derive it from SEED")
            # 4. global RNGs
            if dotted.startswith("torch.") and fname in TORCH_GLOBAL:
                random_use = True
                if not any(kw.arg == "generator" for kw in node.keywords):
                    torch_global = True
            if dotted in ("torch.manual_seed", "torch.random.manual_seed") and node.args and \
                    _mentions(node.args[0], "SEED"):
                torch_seeded = True
            if (dotted.startswith(("np.random.", "numpy.random.")) and fname not in NP_SEEDED
                    and dotted.count(".") == 2):
                problems.append(f"{line}: {dotted}() draws from numpy's global RNG; use "
                                "np.random.default_rng(SEED + k)")
            # 3. sgdsde calls take their seed/generator
            target = None
            if isinstance(node.func, ast.Attribute):
                base = _dotted(node.func.value)
                if base in modules:
                    target = (modules[base], node.func.attr)
            elif isinstance(node.func, ast.Name) and node.func.id in names:
                target = names[node.func.id]
            if target is None:
                continue
            sig = api.get(target[0], {}).get(target[1])
            if sig is None:
                continue
            random_use = True
            if any(isinstance(a, ast.Starred) for a in node.args) or any(kw.arg is None for kw in node.keywords):
                continue  # *args / **kwargs: cannot tell statically
            try:
                bound = sig.bind_partial(*node.args, **{kw.arg: kw.value for kw in node.keywords})
            except TypeError:
                continue
            given = {p: v for p, v in bound.arguments.items() if p in ("seed", "generator")}
            if not given:
                problems.append(f"{line}: {target[0]}.{target[1]}() takes seed/generator but none is "
                                "passed; pass seed=SEED + k (or generator=...)")
            elif all(isinstance(v, ast.AST) and _is_const(v) for v in given.values()) and not any(
                    kw.arg in SEED_KWARGS for kw in node.keywords):  # a literal seed= is reported above
                problems.append(f"{line}: {target[0]}.{target[1]}() gets a constant "
                                f"{'/'.join(given)}; derive it from SEED")
    if random_use and not page_seed_ok:
        problems.append(f"{page}.md: draws random numbers but its parameters-tagged cell has no "
                        "SEED = page_seed(<default>)")
    if torch_global and not torch_seeded:
        problems.append(f"{page}.md: draws from torch's global RNG without torch.manual_seed(SEED ...) "
                        "in a cell")
    return problems


@pytest.mark.parametrize("page", chapters())
def test_chapter_follows_the_one_seed_rule(page: str):
    found = violations((ROOT / f"{page}.md").read_text(encoding="utf-8"), page)
    assert not found, f"{len(found)} breach(es) of the one-seed rule:\n" + "\n".join(found)


# ------------------------------------------------------------------------ the rule, on toy pages
HEAD = "---\njupytext: {text_representation: {extension: .md, format_name: myst}}\n" \
       "kernelspec: {name: python3, display_name: Python 3}\n---\n# T\n"
PARAMS = "```{code-cell} ipython3\n:tags: [parameters]\nfrom sgdsde.book import page_seed\n" \
         "SEED = page_seed(3)\n```\n"


def cell(src: str) -> str:
    return f"```{{code-cell}} ipython3\n{src}\n```\n"


@pytest.mark.parametrize("src, message", [
    ("import torch\ng = torch.Generator().manual_seed(4)", "literal seed"),
    ("import numpy as np\nr = np.random.default_rng(1 + 2)", "literal seed"),
    ("import numpy as np\nnp.random.seed(0)", "literal seed"),
    ("import random\nrandom.seed(5)", "literal seed"),
    ("from sgdsde import problems as P\nX, y = P.gaussian_regression(4, 2, seed=0)", "literal seed="),
    ("from sgdsde import problems as P\nX, y = P.gaussian_regression(4, 2)", "none is passed"),
    ("from sgdsde.problems import gaussian_regression\nX, y = gaussian_regression(4, 2)", "none is passed"),
    ("import sgdsde.problems\nX, y = sgdsde.problems.gaussian_regression(4, 2, seed=None)", "literal seed="),
    ("from sgdsde import sampling as S\nb = S.with_replacement(6, 2, 3, None)", "constant"),
    ("import torch\nx = torch.randn(3)", "global RNG"),
    ("import numpy as np\nx = np.random.normal(size=3)", "numpy's global RNG"),
])
def test_breaches_are_found(src: str, message: str):
    found = violations(HEAD + PARAMS + cell(src))
    assert any(message in f for f in found), found


def test_randomness_without_a_page_seed_is_found():
    found = violations(HEAD + cell("import torch\nSEED = 3\ng = torch.Generator().manual_seed(SEED)"))
    assert any("page_seed" in f for f in found), found


@pytest.mark.parametrize("src", [
    "import torch\ng = torch.Generator().manual_seed(SEED + 4)",
    "from sgdsde import problems as P\nX, y = P.gaussian_regression(4, 2, seed=SEED + 1)",
    "from sgdsde import sampling as S\nimport torch\n"
    "b = S.with_replacement(6, 2, 3, torch.Generator().manual_seed(SEED))",      # positional generator
    "import torch\ntorch.manual_seed(SEED)\nx = torch.randn(3)",
    "import torch\nx = torch.randn(3, generator=torch.Generator().manual_seed(SEED + 2))",
    "x = [1, 2]\nx.sort()",                                                      # no randomness at all
])
def test_conforming_pages_pass(src: str):
    assert violations(HEAD + PARAMS + cell(src)) == []


def test_a_page_without_randomness_needs_no_seed():
    assert violations(HEAD + cell("import sympy as sp\nassert sp.Integer(2) + 2 == 4")) == []
