"""sgdsde: engines for the executable book on SGD gradient noise.

Floors (lower never imports higher): ``problems`` ← ``sampling`` ← ``sgd`` / ``noise`` ← ``sde``;
``levy``, ``fokker_planck`` and ``stats`` stand alone; ``experiments`` sits on top. The book's own
tooling (claims, ledger, figure style, page seed) is :mod:`sgdsde.book`, which no engine imports.
"""

from __future__ import annotations

__version__ = "0.1.0"
