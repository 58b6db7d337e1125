"""The shape every experiment shares: a frozen ``Config`` with named profiles, and a ``Record``.

An experiment module defines

* ``Config``: a frozen dataclass deriving from :class:`ExperimentConfig`, holding every parameter
  of a run including ``seed``; its scale profiles are data, one dict ``PROFILES = {"ci": Config(...),
  "gpu": Config(...)}`` assigned once as ``Config.PROFILES``; ``Config.profile(name, **overrides)``
  picks one;
* ``run(config, *, device=None, progress=None) -> Record``;
* ``check_...(record)`` functions returning the numbers a chapter asserts.

:class:`Record` is JSON-serialisable (``to_json`` / ``from_json``): the experiment's name, profile,
config, results, seed, git commit, device name, torch version and wall time.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import json
import math
import os
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import torch

__all__ = [
    "ExperimentConfig",
    "Record",
    "Timer",
    "jsonable",
    "make_record",
    "resolve_device",
    "run_metadata",
]

C = TypeVar("C", bound="ExperimentConfig")


def _tuplify(v):
    """Lists (from JSON) back to tuples, recursively, so that a config stays hashable."""
    if isinstance(v, (list, tuple)):
        return tuple(_tuplify(x) for x in v)
    return v


@dataclass(frozen=True)
class ExperimentConfig:
    """Base of every experiment's ``Config``: named profiles, overrides, dict round trip, a key.

    Subclasses are frozen dataclasses with a ``seed`` field and set ``PROFILES`` (name → config).

    Examples
    --------
    >>> @dataclass(frozen=True)
    ... class Cfg(ExperimentConfig):
    ...     steps: int = 10
    ...     lrs: tuple = (0.1, 0.2)
    ...     seed: int = 0
    >>> Cfg.PROFILES = {"ci": Cfg(), "gpu": Cfg(steps=1000)}
    >>> Cfg.profile("gpu", seed=3)
    Cfg(steps=1000, lrs=(0.1, 0.2), seed=3)
    >>> Cfg.from_dict(Cfg().to_dict()) == Cfg()
    True
    >>> Cfg.profile("big")
    Traceback (most recent call last):
    ...
    ValueError: unknown profile 'big' for Cfg; choose one of ['ci', 'gpu']
    >>> Cfg.profile("ci", stepz=3)
    Traceback (most recent call last):
    ...
    ValueError: unknown field(s) ['stepz'] for Cfg; fields are ['lrs', 'seed', 'steps']
    >>> Cfg.parse_override("lrs=0.5,0.7")
    ('lrs', (0.5, 0.7))
    """

    PROFILES: ClassVar[dict[str, Any]] = {}
    #: Fields a single ``run`` never reads (a chapter's own settings): a stale-record check skips
    #: them (:func:`sgdsde.book.records.stale_fields`).
    NOT_IN_RUN: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def field_names(cls) -> list[str]:
        """The config's field names, sorted."""
        return sorted(f.name for f in dataclasses.fields(cls))

    @classmethod
    def _check_fields(cls, names) -> None:
        bad = sorted(set(names) - set(cls.field_names()))
        if bad:
            raise ValueError(
                f"unknown field(s) {bad} for {cls.__name__}; fields are {cls.field_names()}"
            )

    @classmethod
    def profile(cls: type[C], name: str = "ci", **overrides) -> C:
        """The named profile, with ``overrides`` (field = value) replaced.

        Raises
        ------
        ValueError
            Naming the unknown profile or field and listing the allowed ones.
        """
        if name not in cls.PROFILES:
            raise ValueError(
                f"unknown profile {name!r} for {cls.__name__}; choose one of {sorted(cls.PROFILES)}"
            )
        return cls.PROFILES[name].replace(**overrides)

    def replace(self: C, **overrides) -> C:
        """A copy with ``overrides`` replaced (unknown fields raise ``ValueError``)."""
        type(self)._check_fields(overrides)
        return dataclasses.replace(self, **{k: _tuplify(v) for k, v in overrides.items()})

    def to_dict(self) -> dict:
        """Plain dict of the fields (tuples become lists), JSON-serialisable."""
        return jsonable(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls: type[C], d: dict) -> C:
        """Inverse of :meth:`to_dict` (unknown keys raise ``ValueError``)."""
        cls._check_fields(d)
        return cls(**{k: _tuplify(v) for k, v in d.items()})

    def key(self) -> str:
        """A stable hash of the config (hex, 16 characters): the same fields give the same key."""
        s = json.dumps([type(self).__name__, self.to_dict()], sort_keys=True)
        return hashlib.sha256(s.encode()).hexdigest()[:16]

    @classmethod
    def parse_override(cls, text: str) -> tuple[str, Any]:
        """Parse ``field=value`` (a command-line ``--set``): the value as a Python literal
        (``3``, ``0.5``, ``'adam'``, ``None``, ``1,2,4`` → a tuple), else as a string; an int where
        the profile holds a float becomes a float, a scalar where it holds a tuple a 1-tuple.
        """
        if "=" not in text:
            raise ValueError(f"--set needs field=value; got {text!r}")
        name, raw = (s.strip() for s in text.split("=", 1))
        cls._check_fields([name])
        try:
            val = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            val = raw
        val = _tuplify(val)
        ref = getattr(cls.PROFILES.get("ci", None) or cls(), name)
        if isinstance(ref, float) and isinstance(val, int) and not isinstance(val, bool):
            val = float(val)
        if isinstance(ref, tuple) and not isinstance(val, tuple):
            val = (val,)
        return name, val


def jsonable(x):
    """``x`` with tensors, numpy arrays/scalars and tuples turned into lists and Python numbers.

    Examples
    --------
    >>> jsonable({"a": torch.tensor([1.0, float("inf")]), "b": (1, 2)})
    {'a': [1.0, inf], 'b': [1, 2]}
    """
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().tolist()
    if hasattr(x, "tolist") and type(x).__module__.startswith("numpy"):
        return x.tolist()
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, (bool, int, str)) or x is None:
        return x
    if isinstance(x, float):
        return float(x)
    raise TypeError(f"not JSON-serialisable: {type(x).__name__}")


def resolve_device(device=None) -> torch.device:
    """``device`` as a ``torch.device`` (default CPU); a clear error if CUDA is asked for but absent.

    Examples
    --------
    >>> resolve_device(None), resolve_device("cpu")
    (device(type='cpu'), device(type='cpu'))
    """
    dev = torch.device(device) if device is not None else torch.device("cpu")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device is cuda but torch.cuda.is_available() is False")
    return dev


def _git_commit() -> str | None:
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def run_metadata(device: torch.device) -> dict:
    """Git commit (or None), device name and torch version, for a :class:`Record`.

    Examples
    --------
    >>> sorted(run_metadata(torch.device("cpu")))
    ['device', 'git_commit', 'torch_version']
    """
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    return {"git_commit": _git_commit(), "device": name, "torch_version": torch.__version__}


@dataclass
class Record:
    """The result of one experiment run, JSON-serialisable.

    Attributes
    ----------
    experiment : str, the registry name (``wells``, ``grokking``, ...)
    config : dict, the config's fields (:meth:`ExperimentConfig.to_dict`)
    results : dict, the measured numbers (lists, floats, ints, str; ``inf`` allowed)
    seed : int; git_commit : str or None; device : str; torch_version : str; wall_s : float
    profile : str or None, the profile the config came from (if any)

    Examples
    --------
    >>> r = Record("demo", {"seed": 1}, {"x": [1.0, math.inf]}, seed=1, wall_s=0.5)
    >>> Record.from_json(r.to_json()) == r
    True
    """

    experiment: str
    config: dict
    results: dict
    seed: int
    wall_s: float = 0.0
    profile: str | None = None
    git_commit: str | None = None
    device: str = "cpu"
    torch_version: str = field(default_factory=lambda: torch.__version__)

    def to_json(self, path: str | os.PathLike | None = None) -> str:
        """The record as JSON text (``Infinity``/``NaN`` as Python's json writes them); written to
        ``path`` too when given (its folder created)."""
        text = json.dumps(jsonable(dataclasses.asdict(self)), indent=1)
        if path is not None:
            folder = os.path.dirname(os.path.abspath(path))
            os.makedirs(folder, exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        return text

    @classmethod
    def from_json(cls, text_or_path: str | os.PathLike) -> Record:
        """Inverse of :meth:`to_json`: JSON text, or the path of a file holding it."""
        s = str(text_or_path)
        if not s.lstrip().startswith("{"):
            with open(s, encoding="utf-8") as f:
                s = f.read()
        d = json.loads(s)
        names = {f.name for f in dataclasses.fields(cls)}
        bad = sorted(set(d) - names)
        if bad:
            raise ValueError(f"not a Record: unknown keys {bad}")
        return cls(**d)


class Timer:
    """Wall time of a block, synchronising CUDA at both ends.

    Examples
    --------
    >>> with Timer(torch.device("cpu")) as t:
    ...     pass
    >>> t.seconds >= 0
    True
    """

    def __init__(self, device: torch.device):
        self.device, self.seconds = device, math.nan

    def __enter__(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self.seconds = time.perf_counter() - self._t0
        return False


def make_record(
    name: str,
    config: ExperimentConfig,
    results: dict,
    device,
    wall_s: float,
    profile: str | None = None,
) -> Record:
    """A :class:`Record` of ``config`` and ``results`` with the run's metadata.

    Examples
    --------
    >>> @dataclass(frozen=True)
    ... class Cfg(ExperimentConfig):
    ...     seed: int = 4
    >>> make_record("demo", Cfg(), {"x": 1.0}, torch.device("cpu"), 0.1).seed
    4
    """
    return Record(
        experiment=name,
        config=config.to_dict(),
        results=jsonable(results),
        seed=int(getattr(config, "seed")),  # noqa: B009  every Config has a seed
        wall_s=float(wall_s),
        profile=profile,
        **run_metadata(resolve_device(device)),
    )
