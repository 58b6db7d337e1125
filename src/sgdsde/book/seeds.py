"""The one seed knob of a chapter.

Every chapter draws all of its randomness from ``SEED``, set in its ``parameters`` cell as
``SEED = page_seed(<default>)``. The environment variable ``BOOK_SEED`` overrides the default, so
``make seeds`` (and anyone) can rerun the whole book at other seeds without editing a page.
"""

from __future__ import annotations

import os

__all__ = ["page_seed", "ENV"]

#: The environment variable that overrides every page's default seed.
ENV = "BOOK_SEED"


def page_seed(default: int) -> int:
    """The page's ``SEED``: ``default``, or the integer in ``$BOOK_SEED`` when it is set.

    Examples
    --------
    >>> import os
    >>> os.environ.pop("BOOK_SEED", None) and None
    >>> page_seed(7)
    7
    >>> os.environ["BOOK_SEED"] = "123"
    >>> page_seed(7)
    123
    >>> del os.environ["BOOK_SEED"]
    """
    if isinstance(default, bool) or not isinstance(default, int) or default < 0:
        raise ValueError(f"default must be an int >= 0; got {default!r}")
    raw = os.environ.get(ENV, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{ENV} must be an integer >= 0; got {raw!r}") from None
    if value < 0:
        raise ValueError(f"{ENV} must be an integer >= 0; got {value}")
    return value
