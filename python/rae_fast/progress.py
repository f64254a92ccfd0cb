"""A tiny progress-bar wrapper shared by every long-running command.

All commands show progress the same way: a `tqdm` bar on standard error that disappears when
standard error is not a terminal (logs, CI) unless asked for, and never when ``disable=True``.

>>> from rae_fast.progress import progress
>>> sum(progress(range(3), desc="counting", disable=True))
3
"""
from __future__ import annotations

import sys
from typing import Iterable, Optional, TypeVar

T = TypeVar("T")

__all__ = ["progress"]


def progress(iterable: Optional[Iterable[T]] = None, total: Optional[int] = None,
             desc: Optional[str] = None, disable: Optional[bool] = None, unit: str = "it",
             **kwargs):
    """Wrap ``iterable`` in a progress bar (a ``tqdm`` object; iterate over it as usual).

    Parameters
    ----------
    iterable : iterable, optional
        What to iterate over. Leave it out and call ``.update(n)`` yourself for manual control
        (use the result as a context manager so that the bar is closed).
    total : int, optional
        Number of expected items (defaults to ``len(iterable)`` when it has one).
    desc : str, optional
        Short label printed before the bar, e.g. ``"preprocess"``.
    disable : bool or None
        ``True`` hides the bar; ``False`` always shows it; ``None`` (default) shows it only
        when standard error is an interactive terminal.
    unit : str
        Name of one item (``"clip"``, ``"batch"``...).
    **kwargs
        Passed on to ``tqdm.tqdm`` (e.g. ``initial=`` when resuming).

    Returns
    -------
    tqdm.tqdm
        An iterable (and context manager) yielding the items of ``iterable``.

    Example
    -------
    >>> done = []
    >>> with progress(total=2, desc="work", unit="clip", disable=True) as bar:
    ...     for clip in ("a.wav", "b.wav"):
    ...         done.append(clip)
    ...         bar.update(1)
    >>> done
    ['a.wav', 'b.wav']
    """
    from tqdm.auto import tqdm

    if disable is None:
        disable = not (hasattr(sys.stderr, "isatty") and sys.stderr.isatty())
    return tqdm(iterable, total=total, desc=desc, disable=bool(disable), unit=unit,
                dynamic_ncols=True, file=sys.stderr, **kwargs)
