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
import re

__all__ = [
    "page_seed",
    "page_profile",
    "page_device",
    "check_device",
    "ENV",
    "PROFILE_ENV",
    "DEVICE_ENV",
]

#: The environment variable that overrides every page's default seed.
ENV = "BOOK_SEED"
#: The environment variable that overrides every page's default scale profile.
PROFILE_ENV = "BOOK_PROFILE"
#: The environment variable that sets the device every page's engines run on.
DEVICE_ENV = "BOOK_DEVICE"

_DEVICE = re.compile(r"cpu|mps|cuda(:[0-9]+)?")


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


def check_device(device: str, what: str = "device") -> str:
    """``device`` if it names a torch device a page can run on (``cpu``, ``cuda``, ``cuda:N``,
    ``mps``), else a ``ValueError`` naming it. Availability is checked where the device is used.

    Examples
    --------
    >>> check_device("cuda:1")
    'cuda:1'
    >>> check_device("gpu")
    Traceback (most recent call last):
    ...
    ValueError: device must be one of cpu, cuda, cuda:N, mps; got 'gpu'
    """
    if not isinstance(device, str) or not _DEVICE.fullmatch(device):
        raise ValueError(f"{what} must be one of cpu, cuda, cuda:N, mps; got {device!r}")
    return device


def page_device(default: str = "cpu") -> str:
    """The page's ``DEVICE``: ``default``, or the device in ``$BOOK_DEVICE`` when it is set.

    Pages pass it on as ``device=`` to the engines; ``make chapter ... DEVICE=cuda`` sets it.

    Examples
    --------
    >>> import os
    >>> os.environ.pop("BOOK_DEVICE", None) and None
    >>> page_device()
    'cpu'
    >>> os.environ["BOOK_DEVICE"] = "cuda:0"
    >>> page_device()
    'cuda:0'
    >>> os.environ["BOOK_DEVICE"] = "tpu"
    >>> page_device()
    Traceback (most recent call last):
    ...
    ValueError: BOOK_DEVICE must be one of cpu, cuda, cuda:N, mps; got 'tpu'
    >>> del os.environ["BOOK_DEVICE"]
    """
    check_device(default, "default")
    raw = os.environ.get(DEVICE_ENV, "").strip()
    return check_device(raw, DEVICE_ENV) if raw else default
