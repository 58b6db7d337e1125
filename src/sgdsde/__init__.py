"""sgdsde: engines for the executable book on SGD gradient noise.

Floors (lower never imports higher): ``problems`` ← ``sampling`` ← ``sgd`` / ``noise`` ← ``sde``;
``levy``, ``fokker_planck``, ``stats``, ``claims`` and ``plotting`` stand alone.
"""
from __future__ import annotations

__version__ = "0.1.0"

from .claims import claim  # noqa: F401  (the one helper every chapter uses)
