"""Execute one chapter at a named profile and device; write the executed notebook and its record.

``python -m sgdsde.book.run_chapter NAME [--profile ci|gpu|...] [--device cpu|cuda|cuda:N]``
(``make chapter NAME=... PROFILE=... DEVICE=...``) runs ``chapters/NAME.md`` (jupytext → nbclient,
kernel ``python3``, working directory ``chapters/``) with ``BOOK_PROFILE``, ``BOOK_DEVICE`` and
``BOOK_RECORD_DIR`` set, writes the executed notebook to ``_build/chapters/NAME-PROFILE.ipynb`` and
the record ``chapters/data/NAME/PROFILE.json``:

* a page that runs a registered experiment publishes that experiment's
  :class:`~sgdsde.experiments.record.Record` itself (:func:`sgdsde.book.records.publish`);
* for a page that publishes nothing the runner writes a page-level record: ``experiment`` is
  ``page:NAME``, ``config`` the profile's name, the seed and the values of the page's
  ``parameters`` cell, ``results`` the scalars the page glues, ``wall_s`` the execution time.

Bad input (an unknown chapter, a profile that the page's experiment configs do not define, a
malformed device or CUDA asked for but absent) exits with status 2 and a message naming it.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import os
import re
import sys
import time
from pathlib import Path

__all__ = ["page_experiment_configs", "allowed_profiles", "glued_scalars", "main"]

_IMPORT = re.compile(r"^\s*from\s+sgdsde\.experiments\s+import\s+(.+)$", re.M)
_IMPORT_SUB = re.compile(r"^\s*(?:from|import)\s+sgdsde\.experiments\.(\w+)", re.M)
_PROFILE_CALL = re.compile(r"\.(\w*Config)\.profile\(")
#: The printed line that carries the parameters cell's values back from the kernel.
_MARK = "__run_chapter_parameters__"


def page_experiment_configs(source: str) -> dict[str, list]:
    """The experiment config classes a page can pick a profile of: ``{module: [Config, ...]}`` for
    every ``sgdsde.experiments`` module the page imports, narrowed to the classes the page calls
    ``.profile(`` on (all of the module's configs when it names none).

    Examples
    --------
    >>> src = "from sgdsde.experiments import grokking as gk\\ncfg = gk.GrokConfig.profile(P)"
    >>> {m: [c.__name__ for c in cs] for m, cs in page_experiment_configs(src).items()}
    {'grokking': ['GrokConfig']}
    >>> page_experiment_configs("import torch")
    {}
    """
    from ..experiments.record import ExperimentConfig

    mods: list[str] = []
    for m in _IMPORT.finditer(source):
        for part in m.group(1).strip("() ").split(","):
            name = part.split(" as ")[0].strip()
            if name:
                mods.append(name)
    mods += _IMPORT_SUB.findall(source)
    called = set(_PROFILE_CALL.findall(source))
    out: dict[str, list] = {}
    for name in dict.fromkeys(mods):
        try:
            mod = importlib.import_module(f"sgdsde.experiments.{name}")
        except ImportError:
            continue
        classes = [
            v
            for v in vars(mod).values()
            if isinstance(v, type)
            and issubclass(v, ExperimentConfig)
            and v is not ExperimentConfig
            and v.PROFILES
        ]
        classes = list(dict.fromkeys(classes))
        named = [c for c in classes if c.__name__ in called]
        if named or classes:
            out[name] = named or classes
    return out


def allowed_profiles(source: str) -> set[str]:
    """The profiles a page can run at: those every config class it uses defines (``{'ci'}`` for a
    page without an experiment).

    Examples
    --------
    >>> "gpu" in allowed_profiles("from sgdsde.experiments import wells\\nwells.Config.profile(P)")
    True
    >>> allowed_profiles("x = 1")
    {'ci'}
    """
    sets = [set(c.PROFILES) for cs in page_experiment_configs(source).values() for c in cs]
    return set.intersection(*sets) if sets else {"ci"}


def _plain(v):
    """``v`` when it is a JSON scalar (or a short list of them), its ``to_dict()`` for a config,
    else None (left out)."""
    if isinstance(v, (bool, int, float, str)) or v is None:
        return v
    if isinstance(v, (list, tuple)) and len(v) <= 64 and all(_plain(x) is not None for x in v):
        return [_plain(x) for x in v]
    if hasattr(v, "to_dict") and hasattr(v, "PROFILES"):
        return v.to_dict()
    return None


def glued_scalars(nb) -> dict:
    """The scalars a notebook glued (myst-nb ``glue``): ``{name: number or str}`` read from the
    ``<mime_prefix>text/plain`` of each output that carries ``scrapbook`` metadata.

    Examples
    --------
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook()
    >>> pre = "application/papermill.record/"          # what myst-nb's glue writes
    >>> out = nbformat.v4.new_output("display_data", data={pre + "text/plain": "0.25"},
    ...                              metadata={"scrapbook": {"name": "x", "mime_prefix": pre}})
    >>> nb.cells.append(nbformat.v4.new_code_cell("glue('x', 0.25)", outputs=[out]))
    >>> glued_scalars(nb)
    {'x': 0.25}
    """
    out = {}
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            meta = o.get("metadata", {}).get("scrapbook")
            if not meta or "name" not in meta:
                continue
            prefix = meta.get("mime_prefix", "")
            text = o.get("data", {}).get(prefix + "text/plain")
            if text is None:
                continue
            try:
                val = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                continue
            val = _plain(val)
            if val is not None:
                out[meta["name"]] = val
    return out


def _parameter_names(nb) -> list[str]:
    names: list[str] = []
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            for node in ast.parse(cell.source).body:
                targets = node.targets if isinstance(node, ast.Assign) else []
                for t in targets:
                    elts = t.elts if isinstance(t, ast.Tuple) else [t]
                    names += [e.id for e in elts if isinstance(e, ast.Name)]
    return list(dict.fromkeys(names))


def _probe_source(names: list[str]) -> str:
    return (
        "import json as _j\n"
        "from sgdsde.book.run_chapter import _plain as _p\n"
        f"_v = {{n: _p(globals().get(n)) for n in {names!r}}}\n"
        f"print({_MARK!r} + _j.dumps({{k: v for k, v in _v.items() if v is not None}}))\n"
    )


def _fail(msg: str) -> int:
    print(f"error: {msg}", file=sys.stderr)
    return 2


def main(argv=None) -> int:
    """Parse ``argv``, execute the chapter, write the notebook and the record; the exit status.

    Examples
    --------
    >>> main(["no_such_chapter"])   # the message goes to stderr
    2
    """
    ap = argparse.ArgumentParser(
        prog="python -m sgdsde.book.run_chapter", description=(__doc__ or "").split("\n\n")[0]
    )
    ap.add_argument("name", help="the chapter: a file name in chapters/, with or without .md")
    ap.add_argument("--profile", default="ci", help="a profile of the page's experiment configs")
    ap.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N, mps")
    ap.add_argument("--seed", type=int, default=None, help="BOOK_SEED for the run")
    ap.add_argument("--chapters", default=None, help="the chapters folder (default: the book's)")
    ap.add_argument("--record-dir", default=None, help="default: <chapters>/data")
    ap.add_argument("--out-dir", default=None, help="default: _build/chapters beside chapters/")
    ap.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    a = ap.parse_args(argv)

    from ..experiments.record import Record, resolve_device, run_metadata
    from .records import RECORD_DIR_ENV, data_dir, record_path
    from .seeds import DEVICE_ENV, ENV, PROFILE_ENV, check_device, page_seed

    chapters = Path(a.chapters) if a.chapters else data_dir().parent
    name = a.name[:-3] if a.name.endswith(".md") else a.name
    md = chapters / f"{name}.md"
    if "/" in name or not md.is_file():
        known = sorted(p.stem for p in chapters.glob("*.md"))
        return _fail(f"unknown chapter {a.name!r}; chapters are {known}")
    source = md.read_text(encoding="utf-8")
    try:
        allowed = allowed_profiles(source)
        if a.profile not in allowed:
            raise ValueError(
                f"unknown profile {a.profile!r} for chapter {name!r}; choose one of {sorted(allowed)}"
            )
        dev = resolve_device(check_device(a.device))
        if a.seed is not None and a.seed < 0:
            raise ValueError(f"seed must be >= 0; got {a.seed}")
    except ValueError as e:
        return _fail(str(e))
    record_dir = Path(a.record_dir) if a.record_dir else chapters / "data"
    out_dir = Path(a.out_dir) if a.out_dir else chapters.parent / "_build" / "chapters"
    rec_path = record_path(name, a.profile, root=record_dir)

    import jupytext
    import nbformat
    from nbclient import NotebookClient

    nb = jupytext.read(md)
    names = _parameter_names(nb)
    nb.cells.append(nbformat.v4.new_code_cell(_probe_source(names)))
    env = {
        PROFILE_ENV: a.profile,
        DEVICE_ENV: a.device,
        RECORD_DIR_ENV: str(record_dir.resolve()),
        "TQDM_DISABLE": "1",
    }
    if a.seed is not None:
        env[ENV] = str(a.seed)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    before = rec_path.stat().st_mtime if rec_path.is_file() else None
    t0 = time.perf_counter()
    try:
        client = NotebookClient(
            nb,
            timeout=a.timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(chapters.resolve())}},
        )
        client.execute()
        seed = page_seed(0) if a.seed is None else a.seed
    finally:
        wall = time.perf_counter() - t0
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    probe = nb.cells.pop()
    params: dict = {}
    for o in probe.get("outputs", []):
        for line in o.get("text", "").splitlines():
            if line.startswith(_MARK):
                params = json.loads(line[len(_MARK) :])
    out_dir.mkdir(parents=True, exist_ok=True)
    nb_path = out_dir / f"{name}-{a.profile}.ipynb"
    nbformat.write(nb, nb_path)
    published = rec_path.is_file() and rec_path.stat().st_mtime != before
    if not published:
        seed = int(params.get("SEED", seed))
        rec = Record(
            experiment=f"page:{name}",
            config={"profile": a.profile, "seed": seed, "parameters": params},
            results=glued_scalars(nb),
            seed=seed,
            wall_s=wall,
            profile=a.profile,
            **run_metadata(dev),
        )
        rec.to_json(rec_path)
    how = "published by the page" if published else "page-level"
    print(f"{name} (profile {a.profile}, device {a.device}): {wall:.1f} s")
    print(f"wrote {nb_path} and {rec_path} ({how})")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
