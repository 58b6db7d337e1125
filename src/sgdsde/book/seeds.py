"""The one seed knob of a chapter.

Every chapter draws all of its randomness from ``SEED``, set in its ``parameters`` cell as
``SEED = page_seed(<default>)``. The environment variable ``BOOK_SEED`` overrides the default, so
``make seeds`` (and anyone) can rerun the whole book at other seeds without editing a page.

A chapter's scale profile works the same way: ``PROFILE = page_profile("ci")`` in the
``parameters`` cell, overridden by the environment variable ``BOOK_PROFILE`` (e.g. ``gpu``); the
profiles themselves are data in the experiment configs (``sgdsde.experiments``).
"""

from __future__ import annotations

import os

__all__ = ["page_seed", "page_profile", "ENV", "PROFILE_ENV"]

#: The environment variable that overrides every page's default seed.
ENV = "BOOK_SEED"
#: The environment variable that overrides every page's default scale profile.
PROFILE_ENV = "BOOK_PROFILE"


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


def page_profile(default: str = "ci") -> str:
    """The page's ``PROFILE``: ``default``, or the name in ``$BOOK_PROFILE`` when it is set.

    The name is checked where it is used (``Config.profile`` raises on an unknown profile).

    Examples
    --------
    >>> import os
    >>> os.environ.pop("BOOK_PROFILE", None) and None
    >>> page_profile("ci")
    'ci'
    >>> os.environ["BOOK_PROFILE"] = " gpu "
    >>> page_profile("ci")
    'gpu'
    >>> del os.environ["BOOK_PROFILE"]
    """
    if not isinstance(default, str) or not default:
        raise ValueError(f"default must be a non-empty str; got {default!r}")
    raw = os.environ.get(PROFILE_ENV, "").strip()
    return raw or default
