"""Command line: run one registered experiment at a profile and write its record.

``python -m sgdsde.experiments NAME [--profile ci|gpu|...] [--seed N] [--device cpu|cuda]
[--set field=value ...] [--out record.json]``; ``--list`` prints the experiments and profiles.
Bad input (unknown experiment, profile or field; CUDA asked for but absent) exits with status 2
and a message naming it.
"""

from __future__ import annotations

import argparse
import sys

from .registry import EXPERIMENTS, get_experiment

__all__ = ["main"]


def main(argv=None) -> int:
    """Parse ``argv``, run the experiment, print a one-line summary; return the exit status.

    Examples
    --------
    >>> main(["grokking", "--set", "steps=2", "--set", "log_every=1", "--set", "noise_every=0"])
    ... # doctest: +ELLIPSIS
    grokking (profile ci, seed 0) on cpu: ... s
    0
    >>> main(["grokking", "--profile", "huge"])   # the message goes to stderr
    2
    """
    ap = argparse.ArgumentParser(
        prog="python -m sgdsde.experiments", description=(__doc__ or "").split("\n\n")[0]
    )
    ap.add_argument("name", nargs="?", help=f"one of {sorted(EXPERIMENTS)}")
    ap.add_argument("--profile", default="ci", help="a named profile of the config (default ci)")
    ap.add_argument("--seed", type=int, default=None, help="the config's seed")
    ap.add_argument("--device", default=None, help="cpu (default), cuda, cuda:1, ...")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a config field (a Python literal; 1,2,4 is a tuple); repeatable",
    )
    ap.add_argument("--out", default=None, help="write the record as JSON here")
    ap.add_argument("--progress", action="store_true", help="show progress bars")
    ap.add_argument("--list", action="store_true", help="list experiments and profiles")
    a = ap.parse_args(argv)
    try:
        if a.list:
            for name in sorted(EXPERIMENTS):
                print(f"{name}: profiles {sorted(get_experiment(name).Config.PROFILES)}")
            return 0
        if a.name is None:
            raise ValueError(f"give an experiment name: one of {sorted(EXPERIMENTS)}")
        exp = get_experiment(a.name)
        overrides = dict(exp.Config.parse_override(s) for s in a.set)
        if a.seed is not None:
            overrides["seed"] = a.seed
        cfg = exp.Config.profile(a.profile, **overrides)
        from .record import resolve_device

        dev = resolve_device(a.device)
    except (ValueError, TypeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    rec = exp.run(cfg, device=dev, progress=True if a.progress else None)
    rec.profile = a.profile
    print(f"{a.name} (profile {a.profile}, seed {rec.seed}) on {rec.device}: {rec.wall_s:.1f} s")
    if a.out:
        rec.to_json(a.out)
        print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
