"""Per-band statistics of stored spectrograms: a fixed-length, model-free feature set.

:func:`band_statistics` summarises every band of every instance over time -- its mean,
standard deviation, minimum, maximum and mean absolute frame-to-frame change (``delta``) -- the
classic "functionals" feature set. It needs no training and describes the overall spectral
envelope and its spread, which a recurrent autoencoder's representation holds only loosely;
fused with the representations (``rae-fast fuse``) it can add what the code misses.
Frames at the floor (digital silence, zero padding) can be left out (``skip_floor``), so that
the padding of short clips does not dominate the statistics.

>>> import numpy as np
>>> from rae_fast.dataset import DataSet
>>> ds = DataSet(np.random.default_rng(0).uniform(-1, 1, (3, 10, 4)).astype(np.float32),
...              ("time", "freq"), ["a.wav", "b.wav", "c.wav"])
>>> st = band_statistics(ds, ("mean", "std"))
>>> st.feature_dims, st.feature_shape
(('generated',), (8,))
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..dataset import DataSet

__all__ = ["band_statistics", "STATISTICS"]

#: Statistics :func:`band_statistics` knows, in the order their columns appear.
STATISTICS = ("mean", "std", "min", "max", "delta")


def _stats(x: np.ndarray, valid: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """``x`` ``(time, bands)``, ``valid`` ``(time,)`` bool -> one row of statistics."""
    v = x[valid] if valid.any() else x
    out = []
    for name in names:
        if name == "mean":
            out.append(v.mean(axis=0))
        elif name == "std":
            out.append(v.std(axis=0))
        elif name == "min":
            out.append(v.min(axis=0))
        elif name == "max":
            out.append(v.max(axis=0))
        else:  # delta: mean |x[t] - x[t-1]| over consecutive kept frames
            out.append(np.abs(np.diff(v, axis=0)).mean(axis=0) if len(v) > 1
                       else np.zeros(v.shape[1], v.dtype))
    return np.concatenate(out)


def band_statistics(dataset: DataSet, statistics: Sequence[str] = ("mean", "std"),
                    skip_floor: bool = False) -> DataSet:
    """Statistics over time of every band: ``(n, time, bands)`` -> ``(n, len(statistics) *
    bands)`` (feature dim ``generated``, grouped by statistic), with all instance metadata.

    Parameters
    ----------
    dataset : DataSet
        Spectrograms (or any ``(time, bands)`` features) of a stored data set.
    statistics : sequence of {"mean", "std", "min", "max", "delta"}
        Which statistics, in this order (``delta``: mean absolute change between
        consecutive frames).
    skip_floor : bool
        Leave out frames whose every value is the instance's minimum (silence, padding;
        all frames are kept when every frame is at the floor).

    Returns
    -------
    DataSet
        float32 features; attribute ``band_statistics`` records the settings.

    >>> band_statistics(load("specs.nc"), ("mean", "std", "delta")).feature_shape  # doctest: +SKIP
    (384,)
    """
    if not isinstance(dataset, DataSet):
        raise TypeError(f"dataset must be a DataSet, got {type(dataset).__name__}")
    if len(dataset.feature_shape) != 2:
        raise ValueError(f"dataset must hold 2-D features (time, bands), got feature_dims "
                         f"{dataset.feature_dims}")
    if isinstance(statistics, str) or not statistics:
        raise ValueError(f"statistics must be a non-empty list of {STATISTICS}, got "
                         f"{statistics!r}")
    names = [str(s).lower() for s in statistics]
    unknown = [s for s in names if s not in STATISTICS]
    if unknown or len(set(names)) != len(names):
        raise ValueError(f"statistics must be distinct names of {STATISTICS}, got "
                         f"{list(statistics)}")
    x = np.asarray(dataset.features, dtype=np.float64)
    rows = []
    for inst in x:
        if skip_floor:
            valid = ~(inst <= inst.min() + 1e-6).all(axis=1)
        else:
            valid = np.ones(len(inst), bool)
        rows.append(_stats(inst, valid, names))
    out = dataset.with_features(np.asarray(rows, dtype=np.float32), ("generated",))
    out.attrs = {**dict(dataset.attrs), "band_statistics": {"statistics": names,
                                                            "skip_floor": bool(skip_floor)}}
    return out
