"""What several clippings of one collection share: the names their files get
(:func:`clip_name`, the ``{clip}`` of :func:`~rae_fast.preprocessing.preprocess_clippings`)
and the check for data sets that are mostly floor (:class:`FloorWarning`: digital silence,
zero padding or everything clipped).
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np


__all__ = ["clip_name", "FLOOR_WARNING_FRACTION", "FloorWarning", "floor_frames"]


def clip_name(value: Optional[float]) -> str:
    """``-30.0`` -> ``"-30"``, ``-45.5`` -> ``"-45.5"``, ``None`` -> ``"none"``: what ``{clip}``
    becomes in :func:`preprocess_clippings`' output names.

    >>> clip_name(-60.0), clip_name(None)
    ('-60', 'none')
    """
    return "none" if value is None else f"{float(value):g}"


#: Share of frames at the floor above which :func:`preprocess` warns (:class:`FloorWarning`).
FLOOR_WARNING_FRACTION = 1 / 3


class FloorWarning(UserWarning):
    """More than :data:`FLOOR_WARNING_FRACTION` of a data set's frames sit at the dB floor
    (digital silence, zero padding, or everything clipped): an autoencoder then spends much of
    its loss on reproducing silence. ``path`` and ``fraction`` are attributes."""

    def __init__(self, path: Path, fraction: float):
        self.path, self.fraction = Path(path), float(fraction)
        super().__init__(f"{path}: {100 * fraction:.0f} % of the frames lie at the dB floor "
                         f"(digital silence or padding); train with mask_silence=True, shorten "
                         f"fixed_length or clip less (clip_below) so that the autoencoder does "
                         f"not spend itself on silence")


def floor_frames(x: np.ndarray) -> int:
    """Frames (time steps) of ``x`` ``(k, time, bands)`` whose every value is at the floor
    (the smallest value of their instance)."""
    lo = x.min(axis=(1, 2), keepdims=True)
    return int(np.count_nonzero((x <= lo + 1e-6).all(axis=2)))
