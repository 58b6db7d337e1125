"""The book's own tooling: the claims registry and ledger, the figure style, the page seed.

Chapters import from here (``from sgdsde.book import claim, page_seed, page_profile``); the
engines in ``sgdsde`` never import this package.
"""

from __future__ import annotations

from .checks import assert_close
from .claims import claim
from .plotting import PALETTE, use_book_style
from .seeds import page_device, page_profile, page_seed

__all__ = [
    "assert_close",
    "claim",
    "page_device",
    "page_profile",
    "page_seed",
    "use_book_style",
    "PALETTE",
]
