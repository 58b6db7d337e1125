"""Command line of :mod:`sgdsde.experiments.sweep`: run a grid of configs, results to JSON lines.

``python -m sgdsde.experiments.sweep NAME [--profile ci] --grid FIELD=V1,V2 ... [--set
FIELD=VALUE ...] --out results.jsonl [--workers N | --address tcp://host:8786] [--progress]``.
Bad input (unknown experiment, profile or field; an unreachable scheduler) exits with status 2
and a message naming it.
"""

from __future__ import annotations

import argparse
import ast
import sys

from ..record import _tuplify
from ..registry import EXPERIMENTS

__all__ = ["main", "parse_axis"]


def parse_axis(text: str) -> tuple[str, list]:
    """``FIELD=V1,V2,...`` → (field, [values]): each value a Python literal (else a string); for
    a tuple field give tuples, ``lrs=(0.05,0.1),(0.2,)`` (a bare scalar becomes a 1-tuple).

    Examples
    --------
    >>> parse_axis("depth=0.5,1,2")
    ('depth', [0.5, 1, 2])
    >>> parse_axis("lrs=(0.05, 0.1),(0.2,)")
    ('lrs', [(0.05, 0.1), (0.2,)])
    >>> parse_axis("seed=3")
    ('seed', [3])
    """
    if "=" not in text:
        raise ValueError(f"--grid needs FIELD=V1,V2,...; got {text!r}")
    name, raw = (s.strip() for s in text.split("=", 1))
    try:
        val = _tuplify(ast.literal_eval(raw))
    except (ValueError, SyntaxError):
        return name, [raw]
    one_tuple = (
        raw.startswith("(") and raw.endswith(")") and not (val and isinstance(val[0], tuple))
    )
    return name, list(val) if isinstance(val, tuple) and not one_tuple else [val]


def main(argv=None) -> int:
    """Parse ``argv``, run the sweep, print a summary line; return the exit status.

    Examples
    --------
    >>> main(["grokking", "--grid", "seed=0,1", "--set", "steps=2", "--set", "log_every=1",
    ...       "--set", "noise_every=0", "--workers", "0"])    # doctest: +ELLIPSIS
    grokking sweep (profile ci): 2 configs done...
    0
    >>> main(["grokking", "--grid", "seedz=0,1"])             # the message goes to stderr
    2
    """
    ap = argparse.ArgumentParser(
        prog="python -m sgdsde.experiments.sweep", description=(__doc__ or "").split("\n\n")[0]
    )
    ap.add_argument("name", help=f"one of {sorted(EXPERIMENTS)}")
    ap.add_argument("--profile", default="ci", help="the profile the grid varies (default ci)")
    ap.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="FIELD=V1,V2",
        help="an axis of the grid (values are Python literals); repeatable",
    )
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="a fixed override for every config; repeatable",
    )
    ap.add_argument("--out", default=None, help="JSON-lines results file (resumed if it exists)")
    ap.add_argument("--workers", type=int, default=2, help="local processes (0: in this one)")
    ap.add_argument("--address", default=None, help="a Dask scheduler (tcp://host:port)")
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds to reach the scheduler")
    ap.add_argument("--device", default=None, help="cpu (default), cuda, ...")
    ap.add_argument("--progress", action="store_true", help="show the progress bar")
    a = ap.parse_args(argv)
    from ._executors import dask_executor
    from ._grid import experiment_of, grid
    from ._runner import run_sweep

    executor = None
    try:
        exp = experiment_of(a.name)
        fixed = dict(exp.Config.parse_override(s) for s in a.set)
        axes = dict(parse_axis(s) for s in a.grid)
        both = sorted(set(fixed) & set(axes))
        if both:
            raise ValueError(f"field(s) {both} given both as --set and as --grid")
        configs = grid(exp, a.profile, **{k: [v] for k, v in fixed.items()}, **axes)
        if a.workers < 0:
            raise ValueError(f"--workers must be >= 0; got {a.workers}")
        if a.address is not None:
            executor = dask_executor(a.address, timeout=a.timeout)
    except (ValueError, TypeError, ConnectionError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        recs = run_sweep(
            exp,
            configs,
            out=a.out,
            executor=executor,
            workers=a.workers,
            device=a.device,
            progress=True if a.progress else None,
        )
    finally:
        if executor is not None:
            executor.shutdown()
    where = a.address or (f"{a.workers} local workers" if a.workers else "this process")
    print(
        f"{a.name} sweep (profile {a.profile}): {len(recs)} configs done on {where}"
        + (f"; results in {a.out}" if a.out else "")
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
