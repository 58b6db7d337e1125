"""The results file of a sweep: JSON lines, one finished config per line, appended and flushed."""

from __future__ import annotations

import dataclasses
import json
import os
import warnings
from pathlib import Path

from ..record import Record, jsonable

__all__ = ["read_results", "append_result", "SweepFileWarning"]


class SweepFileWarning(UserWarning):
    """A sweep's results file held a damaged last line (a run killed mid-write); it was dropped.

    Examples
    --------
    >>> issubclass(SweepFileWarning, UserWarning)
    True
    """


def _line(experiment: str, key: str, record: Record) -> str:
    return json.dumps(
        {"experiment": experiment, "key": key, "record": jsonable(dataclasses.asdict(record))}
    )


def read_results(path, experiment: str | None = None, *, repair: bool = False) -> dict[str, Record]:
    """The records in the JSON-lines file ``path``, by config key (first line of a key wins).

    A damaged last line (a sweep killed while writing it) is reported with a
    :class:`SweepFileWarning` and ignored; with ``repair=True`` it is also cut from the file, so
    that appending can go on. A damaged line elsewhere, or a line of another experiment than
    ``experiment``, raises ``ValueError`` naming the file and line. A missing file reads as empty.

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp(); p = os.path.join(d, "s.jsonl")
    >>> append_result(p, "demo", "k1", Record("demo", {"seed": 0}, {"x": 1.0}, seed=0))
    >>> with open(p, "a") as f:
    ...     _ = f.write('{"experiment": "demo", "ke')          # killed mid-write
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     out = read_results(p, "demo", repair=True)
    >>> list(out), out["k1"].results, len(w), open(p).read().count("\\n")
    (['k1'], {'x': 1.0}, 1, 1)
    """
    path = Path(path)
    if not path.is_file():
        return {}
    raw = path.read_bytes()
    lines = raw.split(b"\n")
    out: dict[str, Record] = {}
    good_end = 0
    pos = 0
    for i, line in enumerate(lines):
        start, pos = pos, pos + len(line) + 1
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            key, exp, rec = d["key"], d["experiment"], Record(**d["record"])
        except (ValueError, KeyError, TypeError) as e:
            rest = b"".join(lines[i + 1 :]).strip()
            if rest:
                raise ValueError(f"{path}: line {i + 1} is not a sweep result ({e})") from None
            warnings.warn(
                f"{path}: damaged last line {i + 1} ({len(line)} bytes) ignored; its config "
                "runs again",
                SweepFileWarning,
                stacklevel=2,
            )
            if repair:
                with open(path, "r+b") as f:
                    f.truncate(start)
            return out
        if experiment is not None and exp != experiment:
            raise ValueError(
                f"{path}: line {i + 1} holds a result of experiment {exp!r}, not {experiment!r}"
            )
        out.setdefault(key, rec)
        good_end = min(pos, len(raw))
    if good_end and not raw[:good_end].endswith(b"\n") and repair:
        with open(path, "ab") as f:  # a complete last line without its newline
            f.write(b"\n")
    return out


def append_result(path, experiment: str, key: str, record: Record) -> None:
    """Append one result as a line of ``path`` (folder created), flushed and synced to disk.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "sub", "s.jsonl")
    >>> append_result(p, "demo", "k", Record("demo", {"seed": 0}, {"x": 2.0}, seed=0))
    >>> read_results(p)["k"].results
    {'x': 2.0}
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write(_line(experiment, key, record) + "\n")
        f.flush()
        os.fsync(f.fileno())
