"""Recorded runs of a chapter at a named profile: ``chapters/data/<chapter>/<profile>.json``.

A chapter run at a profile (``BOOK_PROFILE=<profile>``, see :func:`~sgdsde.book.seeds.page_profile`)
with ``$BOOK_RECORD_DIR`` set writes the :class:`~sgdsde.experiments.record.Record` of its run
there with :func:`publish`; in an ordinary build or test run :func:`publish` writes nothing. A page
shows a recorded larger run beside its CI run with :func:`load_record`, and :func:`stale_fields`
says which fields of a record's config no longer match the code's profile (a stale record).

Examples
--------
>>> import os, tempfile
>>> from sgdsde.experiments.record import Record
>>> rec = Record("wells", {"seed": 1}, {"x": 1.0}, seed=1, profile="gpu")
>>> os.environ.pop(RECORD_DIR_ENV, None) and None
>>> publish(rec, "15_heavy_tails") is None        # not asked to record: nothing written
True
>>> with tempfile.TemporaryDirectory() as d:
...     os.environ[RECORD_DIR_ENV] = d
...     path = publish(rec, "15_heavy_tails")
...     del os.environ[RECORD_DIR_ENV]
...     print(path.relative_to(d), load_record("15_heavy_tails", "gpu", root=d) == rec)
15_heavy_tails/gpu.json True
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

from ..experiments.record import Record

__all__ = ["RECORD_DIR_ENV", "data_dir", "record_path", "publish", "load_record", "stale_fields"]

#: Environment variable naming the folder records are written to (``make chapter`` sets it to
#: ``chapters/data``); unset, :func:`publish` writes nothing.
RECORD_DIR_ENV = "BOOK_RECORD_DIR"

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def data_dir() -> Path:
    """The book's ``chapters/data`` folder: beside this package's source tree (editable install),
    else found upwards from the working directory.

    Examples
    --------
    >>> data_dir().name
    'data'
    """
    here = Path(__file__).resolve().parents[3] / "chapters" / "data"
    if here.is_dir():
        return here
    from .ledger import find_root  # raises FileNotFoundError outside a checkout

    return find_root() / "chapters" / "data"


def _check_name(what: str, value) -> str:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise ValueError(f"{what} must be a plain name like '18_grokking' or 'gpu'; got {value!r}")
    return value


def record_path(chapter: str, profile: str, root: str | os.PathLike | None = None) -> Path:
    """``<root>/<chapter>/<profile>.json`` (``root`` defaults to :func:`data_dir`).

    Examples
    --------
    >>> record_path("18_grokking", "gpu", root="/tmp").as_posix()
    '/tmp/18_grokking/gpu.json'
    >>> record_path("18_grokking", "../x", root="/tmp")
    Traceback (most recent call last):
    ...
    ValueError: profile must be a plain name like '18_grokking' or 'gpu'; got '../x'
    """
    _check_name("chapter", chapter)
    _check_name("profile", profile)
    return Path(root if root is not None else data_dir()) / chapter / f"{profile}.json"


def publish(record: Record, chapter: str, profile: str | None = None) -> Path | None:
    """Write ``record`` as the chapter's record for ``profile`` (default: ``record.profile``, else
    the page's current profile) when ``$BOOK_RECORD_DIR`` is set; return its path, else None.
    The written record's ``profile`` is set to that profile.

    Examples
    --------
    >>> import os
    >>> os.environ.pop(RECORD_DIR_ENV, None) and None
    >>> publish(Record("wells", {"seed": 1}, {}, seed=1), "15_heavy_tails") is None
    True
    """
    if not isinstance(record, Record):
        raise TypeError(f"record must be a sgdsde Record; got {type(record).__name__}")
    root = os.environ.get(RECORD_DIR_ENV, "").strip()
    if not root:
        return None
    if profile is None:
        from .seeds import page_profile

        profile = record.profile or page_profile()
    path = record_path(chapter, profile, root=root)
    # the record names the profile it was written for (the stale-record test reads it)
    dataclasses.replace(record, profile=profile).to_json(path)
    return path


def load_record(chapter: str, profile: str, root: str | os.PathLike | None = None) -> Record | None:
    """The recorded run of ``chapter`` at ``profile``, or None when there is none.

    Examples
    --------
    >>> load_record("15_heavy_tails", "no_such_profile") is None
    True
    """
    path = record_path(chapter, profile, root=root)
    return Record.from_json(path) if path.is_file() else None


def stale_fields(record: Record, ignore: tuple[str, ...] = ("seed",)) -> dict[str, tuple]:
    """Fields where ``record.config`` differs from the registered experiment's profile
    ``record.profile`` today: ``{field: (recorded, current)}``; empty when the record is current.

    A field the code no longer has, or a new one the record lacks, counts as different. ``ignore``
    lists fields a page may set itself (the seed comes from the page's ``SEED``); the config's
    ``NOT_IN_RUN`` fields (settings one run never reads) are skipped too.

    Examples
    --------
    >>> from sgdsde.experiments.registry import get_experiment
    >>> cfg = get_experiment("wells").Config.profile("ci")
    >>> rec = Record("wells", cfg.to_dict(), {}, seed=cfg.seed, profile="ci")
    >>> stale_fields(rec)
    {}
    >>> d = dict(cfg.to_dict()); d["chains"] = -1
    >>> list(stale_fields(Record("wells", d, {}, seed=cfg.seed, profile="ci")))
    ['chains']
    """
    from ..experiments.record import jsonable
    from ..experiments.registry import get_experiment

    if record.profile is None:
        raise ValueError("record.profile is None: only a record of a named profile can be checked")
    Config = get_experiment(record.experiment).Config
    current = jsonable(Config.profile(record.profile).to_dict())
    recorded = jsonable(record.config)
    skip = set(ignore) | set(getattr(Config, "NOT_IN_RUN", ()))
    out = {}
    for name in sorted(set(current) | set(recorded)):
        if name in skip:
            continue
        a, b = recorded.get(name, "<missing>"), current.get(name, "<missing>")
        if a != b:
            out[name] = (a, b)
    return out
