"""The book's one figure style.

Examples
--------
>>> from sgdsde.book.plotting import use_book_style, PALETTE
>>> use_book_style()
>>> len(PALETTE)
8
"""

from __future__ import annotations

from importlib import resources

#: Okabe–Ito colour-blind-safe palette, in the order of the style's colour cycle.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")


def use_book_style() -> None:
    """Apply the book's matplotlib style (sizes, fonts, palette) globally.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> use_book_style()
    >>> plt.rcParams["axes.prop_cycle"].by_key()["color"][0].lower()
    '#0072b2'
    """
    import matplotlib.pyplot as plt

    with resources.as_file(resources.files("sgdsde.book").joinpath("book.mplstyle")) as path:
        plt.style.use(str(path))
