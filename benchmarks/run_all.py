"""Run every ``benchmarks/bench_*.py`` and print one table of speed-up ratios.

Usage::

    python benchmarks/run_all.py [--device cpu|cuda] [--quick] [--strict] [--only NAME]

Interface of a benchmark module ``bench_<name>.py``: a function ``main(device)`` (optionally
``main(device, quick=False)``; ``--quick`` is passed only to a ``main`` that accepts ``quick``),
returning a list of rows, each a dict:

=========  ===============  ==============================================================
key        type             meaning
=========  ===============  ==============================================================
name       str              what is measured (sizes, thread count)
anchor     str              the baseline it is compared with, measured in the same run
ours_s     float or None    seconds for our engine (median of repeats)
anchor_s   float or None    seconds for the anchor (median; may be extrapolated, see note)
ratio      float            speed-up (anchor / ours, or any "higher is better" ratio)
target     float or None    floor the ratio must reach (None: reported only)
note       str (optional)   units, dtype, how the anchor was extrapolated, ...
=========  ===============  ==============================================================

Timings depend on the machine and on what else runs on it: run on a quiet machine. With
``--strict`` the exit status is 1 when a ratio misses its target.
"""
from __future__ import annotations

import argparse
import importlib.util
import inspect
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def fmt(x, spec=".3g"):
    return "—" if x is None else format(x, spec)


def table(rows: list[dict]) -> str:
    head = ["benchmark", "anchor", "ours (s)", "anchor (s)", "ratio", "target", "ok", "note"]
    body = []
    for r in rows:
        t = r.get("target")
        ok = "—" if t is None else ("yes" if r["ratio"] >= t else "MISS")
        body.append([r["name"], r["anchor"], fmt(r.get("ours_s")), fmt(r.get("anchor_s")),
                     fmt(r["ratio"], ".1f") + "×", fmt(t, ".0f") if t is None else f"≥{t:.0f}×", ok,
                     r.get("note", "")])
    w = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(k) for c, k in zip(cells, w)) + " |"  # noqa: E731
    return "\n".join([line(head), "|" + "|".join("-" * (k + 2) for k in w) + "|", *map(line, body)])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--quick", action="store_true", help="fewer repeats and smaller anchor subsets")
    ap.add_argument("--strict", action="store_true", help="exit 1 if a ratio misses its target")
    ap.add_argument("--only", default=None, help="run only bench_<ONLY>.py")
    a = ap.parse_args(argv)
    import torch

    if a.device == "cuda" and not torch.cuda.is_available():
        print("CUDA requested but not available", file=sys.stderr)
        return 2
    rows = []
    files = sorted(HERE.glob("bench_*.py"))
    if a.only:
        files = [f for f in files if f.stem == f"bench_{a.only}"]
    for f in files:
        mod = load(f)
        kw = {"quick": a.quick} if "quick" in inspect.signature(mod.main).parameters else {}
        t0 = time.perf_counter()
        got = mod.main(a.device, **kw)
        print(f"{f.name}: {len(got)} rows in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        rows += got
    dev = torch.cuda.get_device_name() if a.device == "cuda" else f"CPU ({torch.get_num_threads()} threads max)"
    print(f"device: {dev}; torch {torch.__version__}{'; quick mode' if a.quick else ''}")
    print(table(rows))
    missed = [r["name"] for r in rows if r.get("target") is not None and r["ratio"] < r["target"]]
    if missed:
        print("missed targets: " + "; ".join(missed))
    return 1 if (a.strict and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
