"""Features that stay on disk until indexed (:class:`LazyFeatures`), read from netCDF4."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Optional, Tuple

import numpy as np

from .._validation import is_integer
from ._schema import PathLike, _index_array

#: HDF5 is usually built without thread safety: every netCDF call of the package holds this lock.
_NC_LOCK = threading.RLock()


class _NcSource:
    """An open netCDF file shared by lazy feature views (thread-safe reads)."""

    def __init__(self, path: Path, n: int):
        import netCDF4

        self.path = Path(path)
        self.n = n
        self.lock = _NC_LOCK
        with self.lock:
            self.nc = netCDF4.Dataset(str(self.path), "r")
            self.nc.set_auto_maskandscale(False)
            self.var = self.nc.variables["features"]

    def read(self, rows: np.ndarray) -> np.ndarray:
        """Rows (int64, any order, repeats allowed) -> float32 array, finiteness-checked."""
        shape = (len(rows),) + tuple(self.var.shape[1:])
        out = np.empty(shape, dtype=np.float32)
        if len(rows) == 0:
            return out
        order = np.argsort(rows, kind="stable")
        srt = rows[order]
        uniq, first = np.unique(srt, return_index=True)
        # contiguous runs of the distinct sorted rows, one read each
        breaks = np.flatnonzero(np.diff(uniq) != 1) + 1
        starts = np.concatenate([[0], breaks])
        stops = np.concatenate([breaks, [len(uniq)]])
        buf = np.empty((len(uniq),) + shape[1:], dtype=np.float32)
        with self.lock:
            if self.nc is None:
                raise ValueError(f"{self.path}: the data set was closed")
            for a, b in zip(starts, stops):
                buf[a:b] = self.var[int(uniq[a]):int(uniq[b - 1]) + 1]
        if buf.size and not np.isfinite(buf).all():
            bad = int(np.argwhere(~np.isfinite(buf))[0][0])
            raise ValueError(f"{self.path}: features of instance {int(uniq[bad])} contain NaN or "
                             "Inf (the file is corrupt or was not completely written)")
        pos = np.searchsorted(uniq, srt)
        out[order] = buf[pos]
        return out

    def close(self):
        with self.lock:
            if self.nc is not None:
                self.nc.close()
                self.nc = None

    def __del__(self):  # pragma: no cover - GC timing
        try:
            self.close()
        except Exception:
            pass


class LazyFeatures:
    """Features that stay on disk until indexed (what ``load(path, lazy=True)`` returns).

    Behaves like a read-only float32 array of shape ``(n, *feature_shape)``:
    ``lf[i]``, ``lf[a:b]``, ``lf[int_array]``, ``lf[bool_mask]`` read only those instances;
    ``np.asarray(lf)`` reads everything. Reads are thread-safe and check for NaN/Inf. Pickling
    stores the path (the file is reopened on first use), so it crosses process boundaries.

    >>> ds = load("spectrograms.nc", lazy=True)          # doctest: +SKIP
    >>> ds.features.shape, ds.features[:8].shape         # doctest: +SKIP
    ((400, 124, 128), (8, 124, 128))
    """

    def __init__(self, path: PathLike, n: int, feature_shape: Tuple[int, ...],
                 rows: Optional[np.ndarray] = None, _source: Optional[_NcSource] = None):
        self._path = Path(path)
        self._n_file = int(n)
        self._feature_shape = tuple(int(s) for s in feature_shape)
        self._rows = None if rows is None else np.asarray(rows, dtype=np.int64)
        self._source = _source

    # array-like protocol -------------------------------------------------------------
    @property
    def shape(self) -> Tuple[int, ...]:
        return (len(self),) + self._feature_shape

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.float32)

    @property
    def ndim(self) -> int:
        return 1 + len(self._feature_shape)

    @property
    def path(self) -> Path:
        """The netCDF file the features are read from."""
        return self._path

    def __len__(self) -> int:
        return self._n_file if self._rows is None else len(self._rows)

    def _src(self) -> _NcSource:
        if self._source is None:
            self._source = _NcSource(self._path, self._n_file)
        return self._source

    def _file_rows(self, idx: np.ndarray) -> np.ndarray:
        return idx if self._rows is None else self._rows[idx]

    def take(self, indices) -> "LazyFeatures":
        """A lazy view of the selected instances (nothing is read)."""
        idx = _index_array(indices, len(self))
        return LazyFeatures(self._path, self._n_file, self._feature_shape,
                            self._file_rows(idx), self._source)

    def __getitem__(self, key):
        rest = ()
        if isinstance(key, tuple):
            key, rest = key[0], key[1:]
        if is_integer(key):
            n = len(self)
            if not -n <= key < n:
                raise IndexError(f"instance index {key} out of range for {n} instances")
            out = self._src().read(self._file_rows(np.array([key % n], dtype=np.int64)))[0]
        else:
            idx = _index_array(key, len(self), "index")
            out = self._src().read(self._file_rows(idx))
            if rest:
                rest = (slice(None),) + rest
        return out[rest] if rest else out

    def __array__(self, dtype=None, copy=None):
        arr = self[:]
        return arr if dtype is None else arr.astype(dtype)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        return f"LazyFeatures({str(self._path)!r}, shape={self.shape}, dtype=float32)"

    def close(self) -> None:
        """Close the underlying file (reopened automatically if read again)."""
        if self._source is not None:
            self._source.close()
            self._source = None

    def __getstate__(self):
        return {"path": str(self._path), "n": self._n_file, "shape": self._feature_shape,
                "rows": self._rows}

    def __setstate__(self, state):
        self.__init__(state["path"], state["n"], state["shape"], state["rows"])


