"""The data model: instances with features and metadata, stored as auDeep-compatible netCDF4.

One *instance* is one audio file, or one chunk of it. Per instance we keep

============== ============================ ===============================================
name           in memory                    meaning
============== ============================ ===============================================
features       float32 ``(n, *shape)``      spectrogram ``(time, freq)``, autocorrelogram
                                            ``(time, lag)``, representation ``(generated,)``
filenames      object ``(n,)`` of str       file name, relative to the data set folder
chunk_nr       int64 ``(n,)``               chunk index within the file, ``MISSING`` if unknown
label_nominal  object ``(n,)`` str or None  class name
label_numeric  int64 ``(n,)``               class id, ``MISSING`` when unlabelled
cv_folds       int8 ``(n, n_folds)``        per fold ``Split.TRAIN`` (0) / ``Split.VALID``
                                            (1) / ``MISSING``; folds may overlap
partition      int8 ``(n,)``                ``Partition`` value or ``MISSING``
============== ============================ ===============================================

plus a label map (``{name: id}``, names sorted -> ``0..K-1`` as auDeep does) and free-form
global ``attrs`` (e.g. the preprocessing settings).

On disk the layout is auDeep's (xarray ``to_netcdf``): dimensions ``instance``, ``fold`` and
the feature dimensions; variables ``filename``, ``chunk_nr``, ``label_nominal``,
``label_numeric``, ``cv_folds``, ``partition``, ``features``; global attributes
``feature_dims`` (JSON list) and ``label_map`` (JSON list of ``[name, id]`` pairs). Files
written by auDeep load here, and files written here open in auDeep / xarray (see
``docs/data-model.md`` for the exact encodings).

>>> import numpy as np
>>> from rae_fast.dataset import DataSet, Partition
>>> ds = DataSet(np.zeros((2, 3, 4), np.float32), ("time", "freq"), ["a.wav", "b.wav"],
...              label_nominal=["dog", "cat"], partition=[Partition.TRAIN, Partition.TEST])
>>> ds.label_map, ds.label_numeric.tolist(), ds.feature_shape
({'cat': 0, 'dog': 1}, [1, 0], (3, 4))
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import numbers
import os
import re
import threading
from enum import IntEnum
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import __version__
from ._io import partial_path

PathLike = Union[str, "os.PathLike[str]"]

__all__ = ["MISSING", "Partition", "Split", "DataSet", "DataSetWriter", "LazyFeatures", "load",
           "save", "make_label_map", "make_cv_folds", "make_partitions", "check_integrity"]

log = logging.getLogger(__name__)

#: In-memory marker for a missing integer value (chunk_nr, label_numeric, cv_folds, partition).
MISSING = -1


class Partition(IntEnum):
    """Data partitions (values as stored in the ``partition`` variable)."""
    TRAIN = 0
    DEVEL = 1
    TEST = 2


class Split(IntEnum):
    """Role of an instance in one cross-validation fold (values of ``cv_folds``)."""
    TRAIN = 0
    VALID = 1


# Names fixed by auDeep's file format.
_INSTANCE, _FOLD = "instance", "fold"
_VARIABLES = ("filename", "chunk_nr", "label_nominal", "label_numeric", "cv_folds", "partition",
              "features")
_ATTR_FEATURE_DIMS, _ATTR_LABEL_MAP = "feature_dims", "label_map"
# Our own bookkeeping attributes (ignored by auDeep).
_ATTR_PREFIX = "rae_fast_"
_ATTR_JSON = "rae_fast_json_attrs"        # names of user attrs stored as JSON text
_ATTR_COMPLETE = "rae_fast_n_complete"    # instances fully written (resume / integrity)
_ATTR_HEADER = "rae_fast_header"          # fingerprint of the layout (resume)
_ATTR_VERSION = "rae_fast_version"
_RESERVED_ATTRS = {_ATTR_FEATURE_DIMS, _ATTR_LABEL_MAP}
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]*$")
#: HDF5 is usually built without thread safety: every netCDF call here holds this lock.
_NC_LOCK = threading.RLock()


# ----------------------------------------------------------------------------- validation

def _check_name(name, what: str) -> str:
    if not isinstance(name, str):
        raise TypeError(f"{what} must be a str, got {type(name).__name__} ({name!r})")
    if not _NAME_RE.match(name):
        raise ValueError(f"{what} {name!r} is not a valid name (letters, digits, '_', '.', '-', "
                         "starting with a letter)")
    return name


def _check_feature_dims(feature_dims) -> Tuple[str, ...]:
    if isinstance(feature_dims, str) or not isinstance(feature_dims, Sequence):
        raise TypeError(f"feature_dims must be a sequence of str such as ('time', 'freq'), got "
                        f"{feature_dims!r}")
    dims = tuple(_check_name(d, "feature_dims entry") for d in feature_dims)
    if len(set(dims)) != len(dims):
        raise ValueError(f"feature_dims must be distinct, got {dims}")
    for d in dims:
        if d in (_INSTANCE, _FOLD):
            raise ValueError(f"feature_dims may not use the reserved name {d!r}")
    return dims


def _check_feature_shape(feature_shape, n_dims: int) -> Tuple[int, ...]:
    if isinstance(feature_shape, numbers.Integral):
        feature_shape = (feature_shape,)
    try:
        shape = tuple(feature_shape)
    except TypeError:
        raise TypeError(f"feature_shape must be a tuple of int, got {feature_shape!r}") from None
    for s in shape:
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, numbers.Integral):
            raise TypeError(f"feature_shape must be a tuple of int, got {feature_shape!r}")
        if s < 1:
            raise ValueError(f"feature_shape entries must be >= 1, got {shape}")
    if len(shape) != n_dims:
        raise ValueError(f"feature_shape {shape} has {len(shape)} entries but feature_dims has "
                         f"{n_dims}")
    return tuple(int(s) for s in shape)


def make_label_map(labels: Iterable[Optional[str]]) -> Dict[str, int]:
    """Label map as auDeep builds it: distinct names sorted, numbered ``0..K-1``.

    ``None`` entries (unlabelled instances) are ignored.

    >>> make_label_map(["dog", "cat", None, "dog"])
    {'cat': 0, 'dog': 1}
    """
    names = set()
    for lab in labels:
        if lab is None:
            continue
        if not isinstance(lab, str):
            raise TypeError(f"labels must be str or None, got {type(lab).__name__} ({lab!r})")
        names.add(lab)
    return {name: i for i, name in enumerate(sorted(names))}


def _check_label_map(label_map) -> Optional[Dict[str, int]]:
    if label_map is None:
        return None
    if isinstance(label_map, Mapping):
        items = list(label_map.items())
    else:
        try:
            items = [tuple(p) for p in label_map]
        except TypeError:
            raise TypeError(f"label_map must be a dict of str -> int, got {label_map!r}") from None
    out: Dict[str, int] = {}
    for item in items:
        if len(item) != 2:
            raise ValueError(f"label_map entries must be (name, id) pairs, got {item!r}")
        name, idx = item
        if not isinstance(name, str) or name == "":
            raise TypeError(f"label_map keys must be non-empty str, got {name!r}")
        if isinstance(idx, (bool, np.bool_)) or not isinstance(idx, numbers.Integral):
            if isinstance(idx, float) and float(idx).is_integer():
                idx = int(idx)
            else:
                raise TypeError(f"label_map[{name!r}] must be an int, got {idx!r}")
        if idx < 0:
            raise ValueError(f"label_map[{name!r}] must be >= 0, got {idx}")
        if name in out:
            raise ValueError(f"label_map has {name!r} twice")
        out[name] = int(idx)
    if len(set(out.values())) != len(out):
        raise ValueError(f"label_map assigns the same id to several labels: {out}")
    return dict(sorted(out.items()))


def _check_attrs(attrs) -> Dict[str, Any]:
    if attrs is None:
        return {}
    if not isinstance(attrs, Mapping):
        raise TypeError(f"attrs must be a dict, got {type(attrs).__name__}")
    out = {}
    for key, value in attrs.items():
        _check_name(key, "attrs key")
        if key in _RESERVED_ATTRS or key.startswith(_ATTR_PREFIX):
            raise ValueError(f"attrs key {key!r} is reserved")
        try:
            text = json.dumps(value, allow_nan=False, sort_keys=True)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"attrs[{key!r}] must be JSON-serialisable (str, int, float, bool, "
                            f"None, lists and dicts of them): {exc}") from None
        out[key] = json.loads(text) if not isinstance(value, str) else value
    return out


def _has_bool(values) -> bool:
    """True when a (nested) list holds a bool, which numpy would silently turn into 0/1."""
    for v in values:
        if isinstance(v, (bool, np.bool_)):
            return True
        if isinstance(v, (list, tuple)) and _has_bool(v):
            return True
    return False


def _int_column(values, name: str, shape: Tuple[int, ...], dtype, allowed=None) -> np.ndarray:
    """Validate an integer metadata column; None entries / NaN -> MISSING.

    ``allowed``: the valid values ``(0, ..., k)`` (besides MISSING), or None for any >= 0.
    """
    if values is None:
        return np.full(shape, MISSING, dtype=dtype)
    if isinstance(values, np.ndarray):
        arr = values
    else:
        arr = np.asarray(values)
        if arr.dtype.kind not in "iu" or _has_bool(values):
            arr = np.asarray(values, dtype=object)  # None, floats, bools...: one by one
    if arr.dtype == object:
        flat = arr.ravel()
        conv = np.empty(flat.shape, dtype=np.int64)
        for i, v in enumerate(flat):
            if v is None or (isinstance(v, float) and np.isnan(v)):
                conv[i] = MISSING
            elif isinstance(v, (bool, np.bool_)):
                raise TypeError(f"{name} must hold integers, got a boolean")
            elif isinstance(v, numbers.Integral):
                conv[i] = int(v)
            elif isinstance(v, numbers.Real):
                if not (math.isfinite(v) and float(v).is_integer()):
                    raise ValueError(f"{name} must hold whole numbers, got {v!r}")
                conv[i] = int(v)
            else:
                raise TypeError(f"{name} must hold integers (or None for missing), got {v!r}")
        arr = conv.reshape(arr.shape)
    elif arr.dtype.kind == "f":
        miss = np.isnan(arr)
        if np.isinf(arr).any() or not np.all(np.equal(np.mod(arr[~miss], 1), 0)):
            raise ValueError(f"{name} must hold whole numbers (NaN for missing)")
        arr = np.where(miss, MISSING, arr).astype(np.int64)
    elif arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must be an integer array, got dtype {arr.dtype}")
    if arr.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {arr.shape}")
    arr = arr.astype(np.int64, copy=False)
    if allowed is not None:
        bad = (arr < MISSING) | (arr > max(allowed))
    else:
        bad = arr < MISSING
    if bad.any():
        v = arr[bad].ravel()[0]
        what = f"one of {list(allowed)}" if allowed is not None else ">= 0"
        raise ValueError(f"{name} values must be {what} or MISSING (-1), got {v}")
    return np.ascontiguousarray(arr, dtype=dtype)


def _str_column(values, name: str, n: int, allow_missing: bool) -> np.ndarray:
    """Validate a string column -> object array of str (None for missing)."""
    out = np.empty(n, dtype=object)
    if values is None:
        if not allow_missing:
            raise ValueError(f"{name} is required")
        return out  # all None
    if isinstance(values, str):
        raise TypeError(f"{name} must be a sequence of str, not a single str")
    vals = list(values) if not isinstance(values, np.ndarray) else values.ravel().tolist()
    if isinstance(values, np.ndarray) and values.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {values.shape}")
    if len(vals) != n:
        raise ValueError(f"{name} must have {n} entries (one per instance), got {len(vals)}")
    for i, v in enumerate(vals):
        if isinstance(v, bytes):
            v = v.decode("utf-8")
        if v is None or (isinstance(v, float) and np.isnan(v)):
            if not allow_missing:
                raise ValueError(f"{name}[{i}] is missing")
            out[i] = None
        elif isinstance(v, str):
            if v == "":
                raise ValueError(f"{name}[{i}] is an empty string (use None for missing)")
            out[i] = str(v)
        else:
            raise TypeError(f"{name} must hold str{' or None' if allow_missing else ''}, got "
                            f"{type(v).__name__} ({v!r}) at index {i}")
    return out


def _labels(label_nominal, label_numeric, label_map, n: int, map_checked: bool = False):
    """Validate labels and make nominal / numeric / map consistent."""
    nominal = _str_column(label_nominal, "label_nominal", n, allow_missing=True)
    if not map_checked:
        label_map = _check_label_map(label_map)
    numeric_given = label_numeric is not None
    numeric = _int_column(label_numeric, "label_numeric", (n,), np.int64)
    has_nominal = np.array([v is not None for v in nominal], dtype=bool)
    if label_map is None and not numeric_given and has_nominal.any():
        label_map = make_label_map(nominal)
    if label_map is not None:
        for i in np.flatnonzero(has_nominal):
            lab = nominal[i]
            if lab not in label_map:
                raise ValueError(f"label_nominal[{i}] = {lab!r} is not in label_map "
                                 f"({sorted(label_map)})")
            want = label_map[lab]
            if not numeric_given:
                numeric[i] = want
            elif numeric[i] != want:
                raise ValueError(f"label_numeric[{i}] = {numeric[i]} does not match label_map"
                                 f"[{lab!r}] = {want}")
        if numeric_given:
            known = set(label_map.values())
            for i in np.flatnonzero(~has_nominal & (numeric != MISSING)):
                if int(numeric[i]) not in known:
                    raise ValueError(f"label_numeric[{i}] = {numeric[i]} is not an id of "
                                     "label_map")
    return nominal, numeric, label_map


def _check_features_array(features, name: str = "features") -> np.ndarray:
    arr = features if isinstance(features, np.ndarray) else np.asarray(features)
    if arr.dtype.kind != "f":
        raise TypeError(f"{name} must be a floating-point array (float32), got dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if arr.ndim == 0:
        raise ValueError(f"{name} must have a leading instance axis, got a scalar")
    if arr.size and not np.isfinite(arr).all():
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(f"{name} contains NaN or Inf (first at index {tuple(int(b) for b in bad)}"
                         f"; instance {int(bad[0])})")
    return arr


def _index_array(indices, n: int, name: str = "indices") -> np.ndarray:
    """slice / bool mask / int sequence -> int64 index array into range(n)."""
    if isinstance(indices, slice):
        return np.arange(n, dtype=np.int64)[indices]
    if isinstance(indices, numbers.Integral) and not isinstance(indices, (bool, np.bool_)):
        indices = [indices]
    arr = np.asarray(indices)
    if arr.dtype == bool:
        if arr.shape != (n,):
            raise ValueError(f"{name}: a boolean mask must have shape ({n},), got {arr.shape}")
        return np.flatnonzero(arr).astype(np.int64)
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must be integers, a boolean mask or a slice, got dtype "
                        f"{arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    arr = arr.astype(np.int64)
    if (arr < -n).any() or (arr >= n).any():
        raise IndexError(f"{name} out of range for {n} instances: "
                         f"{arr[(arr < -n) | (arr >= n)][0]}")
    return np.where(arr < 0, arr + n, arr)


# ------------------------------------------------------------------------- lazy features

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
        if isinstance(key, numbers.Integral) and not isinstance(key, (bool, np.bool_)):
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


# ------------------------------------------------------------------------------ DataSet

class DataSet:
    """Instances with features and metadata (see the module docstring for the columns).

    Parameters
    ----------
    features : float array ``(n, *feature_shape)`` or :class:`LazyFeatures`
        Converted to C-contiguous float32; NaN/Inf are refused.
    feature_dims : sequence of str
        One name per feature axis: ``("time", "freq")`` for spectrograms (time-major, as
        auDeep stores them), ``("time", "lag")`` for autocorrelograms, ``("generated",)`` for
        representations.
    filenames : sequence of str, length n
    chunk_nr : ints, optional
        Chunk index within the file; ``None`` entries / default -> ``MISSING``.
    label_nominal : sequence of str or None, optional
    label_numeric : ints, optional
        Derived from ``label_nominal`` through ``label_map`` when left out. When both are left
        out but nominal labels are given, the label map is built with :func:`make_label_map`.
    cv_folds : ints ``(n, n_folds)``, optional
        0 train / 1 validation / ``MISSING`` per fold; default: no folds ``(n, 0)``.
    partition : ints ``(n,)``, optional
        :class:`Partition` values or ``MISSING`` (default).
    label_map : dict str -> int, optional
    attrs : dict, optional
        Extra global attributes (JSON-serialisable values), e.g. preprocessing settings.

    Raises
    ------
    TypeError, ValueError
        For wrong types, shapes, non-finite features or inconsistent labels, naming the
        parameter.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ds = DataSet(rng.standard_normal((4, 5, 3)).astype(np.float32), ("time", "freq"),
    ...              [f"f{i}.wav" for i in range(4)], chunk_nr=[0, 0, 0, 0],
    ...              label_nominal=["a", "b", "a", None],
    ...              cv_folds=[[1, 0], [1, 0], [0, 1], [0, 1]])
    >>> len(ds), ds.n_folds, ds.label_numeric.tolist(), ds.is_labelled
    (4, 2, [0, 1, 0, -1], False)
    >>> [idx.tolist() for idx in ds.fold_indices(0)]
    [[2, 3], [0, 1]]
    """

    def __init__(self, features, feature_dims, filenames, chunk_nr=None, label_nominal=None,
                 label_numeric=None, cv_folds=None, partition=None, label_map=None, attrs=None):
        self.feature_dims = _check_feature_dims(feature_dims)
        if isinstance(features, LazyFeatures):
            self.features = features
        else:
            self.features = _check_features_array(features)
        if len(self.features.shape) != 1 + len(self.feature_dims):
            raise ValueError(f"features has shape {tuple(self.features.shape)}: expected "
                             f"{1 + len(self.feature_dims)} axes (instance + feature_dims "
                             f"{self.feature_dims})")
        n = int(self.features.shape[0])
        self.filenames = _str_column(filenames, "filenames", n, allow_missing=False)
        self.chunk_nr = _int_column(chunk_nr, "chunk_nr", (n,), np.int64)
        self.label_nominal, self.label_numeric, self.label_map = _labels(
            label_nominal, label_numeric, label_map, n)
        if cv_folds is None:
            self.cv_folds = np.zeros((n, 0), dtype=np.int8)
        else:
            cv = cv_folds if isinstance(cv_folds, np.ndarray) else np.asarray(cv_folds, dtype=object)
            if cv.ndim != 2:
                if cv.size == 0 and n == 0:
                    cv = np.zeros((0, 0), dtype=np.int8)
                else:
                    raise ValueError(f"cv_folds must be 2-D (instance x fold), got shape {cv.shape}")
            self.cv_folds = _int_column(cv, "cv_folds", (n, cv.shape[1]), np.int8, allowed=(0, 1))
        self.partition = _int_column(partition, "partition", (n,), np.int8, allowed=(0, 1, 2))
        self.attrs = _check_attrs(attrs)

    # properties ------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.features.shape[0])

    @property
    def n_folds(self) -> int:
        """Number of cross-validation folds (may be 0)."""
        return int(self.cv_folds.shape[1])

    @property
    def feature_shape(self) -> Tuple[int, ...]:
        """Shape of one instance's features, e.g. ``(n_frames, n_mels)``."""
        return tuple(int(s) for s in self.features.shape[1:])

    @property
    def is_labelled(self) -> bool:
        """True when there is at least one instance and every instance has a numeric label."""
        return len(self) > 0 and bool(np.all(self.label_numeric != MISSING))

    @property
    def is_lazy(self) -> bool:
        """True when the features are still on disk (:class:`LazyFeatures`)."""
        return isinstance(self.features, LazyFeatures)

    def __repr__(self) -> str:
        parts = [f"n={len(self)}", f"features={self.feature_dims}={self.feature_shape}"]
        if self.label_map is not None:
            parts.append(f"labels={len(self.label_map)}")
        parts.append(f"folds={self.n_folds}")
        if (self.partition != MISSING).any():
            parts.append("partitioned")
        if self.is_lazy:
            parts.append("lazy")
        return f"DataSet({', '.join(parts)})"

    # derived data sets -----------------------------------------------------------------
    def _meta(self, idx=None) -> Dict[str, Any]:
        sel = (lambda a: a.copy()) if idx is None else (lambda a: a[idx])  # never shared
        return dict(filenames=sel(self.filenames), chunk_nr=sel(self.chunk_nr),
                    label_nominal=sel(self.label_nominal), label_numeric=sel(self.label_numeric),
                    cv_folds=sel(self.cv_folds), partition=sel(self.partition),
                    label_map=self.label_map, attrs=dict(self.attrs))

    def subset(self, indices) -> "DataSet":
        """A new data set with the selected instances, in the given order.

        ``indices``: int array (repeats allowed), boolean mask of length n, or a slice. Lazy
        features stay lazy (a view, nothing is read).

        >>> ds.subset([2, 0]).filenames.tolist()          # doctest: +SKIP
        ['f2.wav', 'f0.wav']
        """
        idx = _index_array(indices, len(self))
        feats = self.features.take(idx) if self.is_lazy else self.features[idx]
        return DataSet(feats, self.feature_dims, **self._meta(idx))

    def with_features(self, features, feature_dims) -> "DataSet":
        """Same instances and metadata, new features (e.g. representations ``("generated",)``).

        ``features`` must have one row per instance: shape ``(len(self), *new_shape)``.

        >>> reps = ds.with_features(np.zeros((len(ds), 16), np.float32), ("generated",))  # doctest: +SKIP
        """
        shape = getattr(features, "shape", None)
        if shape is None:
            features = np.asarray(features)
            shape = features.shape
        if len(shape) == 0 or shape[0] != len(self):
            raise ValueError(f"features must have {len(self)} rows (one per instance), got shape "
                             f"{tuple(shape)}")
        return DataSet(features, feature_dims, **self._meta())

    def fold_indices(self, fold: int) -> Tuple[np.ndarray, np.ndarray]:
        """``(train_idx, valid_idx)`` int64 arrays of cross-validation fold ``fold``.

        Instances whose split is ``MISSING`` in that fold are in neither.

        >>> train, valid = ds.fold_indices(0)            # doctest: +SKIP
        """
        if isinstance(fold, (bool, np.bool_)) or not isinstance(fold, numbers.Integral):
            raise TypeError(f"fold must be an int, got {fold!r}")
        if not 0 <= fold < self.n_folds:
            raise ValueError(f"fold must be in [0, {self.n_folds}), got {fold}"
                             + (" (the data set has no cross-validation folds)"
                                if self.n_folds == 0 else ""))
        col = self.cv_folds[:, fold]
        return (np.flatnonzero(col == Split.TRAIN).astype(np.int64),
                np.flatnonzero(col == Split.VALID).astype(np.int64))

    def partition_indices(self, parts) -> np.ndarray:
        """Indices (int64, ascending) of the instances in ``parts``.

        ``parts``: a :class:`Partition`, its value or name (``"train"``, ``"devel"``,
        ``"test"``), or a sequence of them.

        >>> ds.partition_indices(["train", Partition.DEVEL])   # doctest: +SKIP
        """
        if isinstance(parts, (str, numbers.Integral, Partition)):
            parts = [parts]
        values = []
        for p in parts:
            if isinstance(p, str):
                try:
                    p = Partition[p.upper()]
                except KeyError:
                    raise ValueError(f"unknown partition {p!r} (use train, devel or test)") from None
            elif isinstance(p, (bool, np.bool_)) or not isinstance(p, numbers.Integral):
                raise TypeError(f"partition must be a Partition, int or name, got {p!r}")
            elif int(p) not in (0, 1, 2):
                raise ValueError(f"unknown partition {p!r} (0 train, 1 devel, 2 test)")
            values.append(int(p))
        return np.flatnonzero(np.isin(self.partition, values)).astype(np.int64)

    def iter_batches(self, batch_size: int) -> Iterator[Tuple[int, int, np.ndarray]]:
        """Yield ``(start, stop, features[start:stop])`` as float32 arrays, in order.

        Works the same for in-memory and lazy features (reads one batch at a time).

        >>> for start, stop, x in ds.iter_batches(256):   # doctest: +SKIP
        ...     pass
        """
        if isinstance(batch_size, (bool, np.bool_)) or not isinstance(batch_size, numbers.Integral):
            raise TypeError(f"batch_size must be an int, got {batch_size!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        n = len(self)
        for start in range(0, n, int(batch_size)):
            stop = min(n, start + int(batch_size))
            yield start, stop, np.asarray(self.features[start:stop], dtype=np.float32)

    def load_features(self) -> "DataSet":
        """This data set with its features read into memory (itself when already in memory)."""
        if not self.is_lazy:
            return self
        return DataSet(np.asarray(self.features), self.feature_dims, **self._meta())

    def close(self) -> None:
        """Close the file behind lazy features (no-op for in-memory data)."""
        if self.is_lazy:
            self.features.close()

    def __enter__(self) -> "DataSet":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def equals(self, other: "DataSet") -> bool:
        """True when both data sets hold bit-identical features and identical metadata."""
        if not isinstance(other, DataSet):
            return False
        if (self.feature_dims != other.feature_dims or len(self) != len(other)
                or self.feature_shape != other.feature_shape or self.label_map != other.label_map
                or self.attrs != other.attrs):
            return False
        for name in ("filenames", "label_nominal"):
            if list(getattr(self, name)) != list(getattr(other, name)):
                return False
        for name in ("chunk_nr", "label_numeric", "cv_folds", "partition"):
            a, b = getattr(self, name), getattr(other, name)
            if a.shape != b.shape or a.dtype != b.dtype or not np.array_equal(a, b):
                return False
        for (_, _, a), (_, _, b) in zip(self.iter_batches(1024), other.iter_batches(1024)):
            if a.tobytes() != b.tobytes():
                return False
        return True


# ------------------------------------------------------------------------------ writing

def _small_cache(var, chunk_bytes: int) -> None:
    """Instances are written once, in order: a cache of a few chunks keeps memory flat
    (netCDF's default per-variable chunk cache is tens of MiB)."""
    size = int(max(1 << 20, 4 * chunk_bytes))
    var.set_var_chunk_cache(size=size, nelems=61, preemption=1.0)


def _header_fingerprint(feature_dims, feature_shape, n_folds, label_map, attrs) -> str:
    blob = json.dumps({"feature_dims": list(feature_dims), "feature_shape": list(feature_shape),
                       "n_folds": n_folds, "label_map": label_map, "attrs": attrs},
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


class DataSetWriter:
    """Stream instances into a netCDF4 data set file, renamed into place when complete.

    Instances are appended (one or a batch at a time) to ``<path>.partial``; :meth:`close`
    (or leaving the ``with`` block normally) renames it to ``path``. An exception or Ctrl-C
    inside the ``with`` block writes what was appended, closes the file and leaves it as
    ``<path>.partial`` (``keep_partial=True``, default) so that a later writer with
    ``resume=True`` and the same layout continues after the last complete instance
    (:attr:`n_written`); with ``keep_partial=False`` it is deleted. ``path`` is never touched
    before completion. Memory stays flat: at most about 8 MiB are buffered before a write.

    Parameters
    ----------
    path : str or Path
        Final file name (``.nc``).
    feature_dims : sequence of str
        Names of the feature axes, e.g. ``("time", "freq")``.
    feature_shape : tuple of int
        Shape of one instance's features.
    n_folds : int
        Number of cross-validation folds (columns of ``cv_folds``).
    label_map : dict, optional
        ``{name: id}``; nominal labels are checked against it and numeric labels derived.
    attrs : dict, optional
        Global attributes (JSON-serialisable), e.g. preprocessing settings.
    resume : bool
        Continue an existing ``<path>.partial`` if its layout (dims, shape, folds, label map
        and attrs) is identical; otherwise (or when ``False``) start from scratch.
    keep_partial : bool
        Keep ``<path>.partial`` after a failure (for resuming); ``False`` removes it.

    Example
    -------
    >>> with DataSetWriter("out.nc", ("time", "freq"), (124, 128), n_folds=5,
    ...                    label_map={"cat": 0, "dog": 1}) as w:          # doctest: +SKIP
    ...     w.append(S.T, "1-100-A.ogg", chunk_nr=0, label_nominal="dog",
    ...              cv_folds=[1, 0, 0, 0, 0])
    """

    _FLUSH_BYTES = 8 << 20

    def __init__(self, path: PathLike, feature_dims, feature_shape, n_folds: int = 0,
                 label_map=None, attrs=None, resume: bool = False, *, keep_partial: bool = True):
        import netCDF4  # noqa: F401  (fail early if missing)

        self.path = Path(path)
        if self.path.is_dir():
            raise IsADirectoryError(f"output path {self.path} is a directory")
        self.partial = partial_path(self.path)
        self.feature_dims = _check_feature_dims(feature_dims)
        self.feature_shape = _check_feature_shape(feature_shape, len(self.feature_dims))
        if isinstance(n_folds, (bool, np.bool_)) or not isinstance(n_folds, numbers.Integral):
            raise TypeError(f"n_folds must be an int, got {n_folds!r}")
        if n_folds < 0:
            raise ValueError(f"n_folds must be >= 0, got {n_folds}")
        self.n_folds = int(n_folds)
        self.label_map = _check_label_map(label_map)
        self.attrs = _check_attrs(attrs)
        self.keep_partial = bool(keep_partial)
        self._fingerprint = _header_fingerprint(self.feature_dims, self.feature_shape,
                                                self.n_folds, self.label_map, self.attrs)
        self._buffer: List[Dict[str, np.ndarray]] = []
        self._buffered = 0
        self._buffered_bytes = 0
        self._nc = None
        self._closed = False
        self.resumed = False
        self._n_disk = 0
        self.partial.parent.mkdir(parents=True, exist_ok=True)
        with _NC_LOCK:
            if resume and self.partial.exists():
                self._try_resume()
            if self._nc is None:
                with contextlib.suppress(FileNotFoundError):
                    self.partial.unlink()
                self._create()

    # setup ------------------------------------------------------------------------------
    def _try_resume(self) -> None:
        import netCDF4

        try:
            nc = netCDF4.Dataset(str(self.partial), "a")
        except OSError as exc:
            log.info("cannot resume from %s (%s); starting again", self.partial, exc)
            return
        try:
            ok = (_ATTR_HEADER in nc.ncattrs() and nc.getncattr(_ATTR_HEADER) == self._fingerprint
                  and _ATTR_COMPLETE in nc.ncattrs()
                  and int(nc.getncattr(_ATTR_COMPLETE)) == len(nc.dimensions[_INSTANCE]))
        except Exception:  # noqa: BLE001 - any oddity means "do not resume"
            ok = False
        if not ok:
            nc.close()
            log.info("%s was written with other settings or is inconsistent; starting again",
                     self.partial)
            return
        nc.set_auto_maskandscale(False)
        fvar = nc.variables["features"]
        chunk = fvar.chunking()
        if isinstance(chunk, list):
            _small_cache(fvar, 4 * int(np.prod(chunk, dtype=np.int64)))
        self._nc = nc
        self._n_disk = int(nc.getncattr(_ATTR_COMPLETE))
        self.resumed = True
        log.info("resuming %s after %d instances", self.partial, self._n_disk)

    def _create(self) -> None:
        import netCDF4

        nc = netCDF4.Dataset(str(self.partial), "w", format="NETCDF4")
        try:
            nc.set_auto_maskandscale(False)
            nc.createDimension(_INSTANCE, None)
            nc.createDimension(_FOLD, self.n_folds)  # 0 -> unlimited, as xarray writes it
            for d, s in zip(self.feature_dims, self.feature_shape):
                nc.createDimension(d, s)
            nc.createVariable("filename", str, (_INSTANCE,))
            nc.createVariable("chunk_nr", "i8", (_INSTANCE,), fill_value=MISSING,
                              chunksizes=(4096,))
            nc.createVariable("label_nominal", str, (_INSTANCE,))
            nc.createVariable("label_numeric", "i8", (_INSTANCE,), fill_value=MISSING,
                              chunksizes=(4096,))
            nc.createVariable("cv_folds", "i1", (_INSTANCE, _FOLD), fill_value=MISSING,
                              chunksizes=(4096, max(1, self.n_folds)))
            nc.createVariable("partition", "i1", (_INSTANCE,), fill_value=MISSING,
                              chunksizes=(4096,))
            inst_bytes = 4 * int(np.prod(self.feature_shape, dtype=np.int64))
            per_chunk = int(max(1, min(256, (1 << 20) // max(1, inst_bytes))))
            # no fill: chunks are written once, completely (pre-filling would double the
            # writes); completeness is tracked by rae_fast_n_complete instead
            fvar = nc.createVariable("features", "f4", (_INSTANCE,) + self.feature_dims,
                                     fill_value=False,
                                     chunksizes=(per_chunk,) + self.feature_shape)
            _small_cache(fvar, per_chunk * inst_bytes)
            nc.setncattr(_ATTR_FEATURE_DIMS, json.dumps(list(self.feature_dims)))
            if self.label_map is not None:
                # auDeep's encoding: JSON list of [name, id] pairs sorted by name
                nc.setncattr(_ATTR_LABEL_MAP, json.dumps(sorted(self.label_map.items())))
            json_names = []
            for key, value in self.attrs.items():
                if isinstance(value, str):
                    nc.setncattr(key, value)
                else:
                    nc.setncattr(key, json.dumps(value, sort_keys=True))
                    json_names.append(key)
            nc.setncattr(_ATTR_JSON, json.dumps(json_names))
            nc.setncattr(_ATTR_VERSION, __version__)
            nc.setncattr(_ATTR_HEADER, self._fingerprint)
            nc.setncattr(_ATTR_COMPLETE, np.int64(0))
            nc.sync()
        except BaseException:
            nc.close()
            with contextlib.suppress(FileNotFoundError):
                self.partial.unlink()
            raise
        self._nc = nc
        self._n_disk = 0

    # appending ------------------------------------------------------------------------------
    @property
    def n_written(self) -> int:
        """Instances appended so far (including those resumed from the partial file)."""
        return self._n_disk + self._buffered

    def append(self, features, filenames, chunk_nr=None, label_nominal=None,
               label_numeric=None, cv_folds=None, partition=None) -> None:
        """Append one instance (``features`` of ``feature_shape``) or a batch (leading axis).

        For one instance the metadata are scalars (``filenames="a.wav"``, ``chunk_nr=0``,
        ``cv_folds=[0, 1, ...]``); for a batch of ``k`` they have ``k`` entries. Missing
        values: ``None`` / ``MISSING``. Everything is validated before anything is buffered.
        """
        if self._closed or self._nc is None:
            raise ValueError(f"the writer for {self.path} is closed")
        feats = features if isinstance(features, np.ndarray) else np.asarray(features)
        single = feats.ndim == len(self.feature_shape)
        if single:
            feats = feats[None]
        if feats.shape[1:] != self.feature_shape:
            raise ValueError(f"features must have shape {self.feature_shape} (one instance) or "
                             f"(k, *{self.feature_shape}) (a batch), got {feats.shape}")
        feats = _check_features_array(feats)
        k = feats.shape[0]
        if k == 0:
            return

        def one(v):
            return None if v is None else [v]

        if single:
            if isinstance(filenames, (list, tuple, np.ndarray)):
                raise TypeError("filenames must be a single str when appending one instance")
            filenames, chunk_nr, label_nominal, label_numeric, partition = (
                [filenames], one(chunk_nr), one(label_nominal), one(label_numeric), one(partition))
            if cv_folds is not None:
                cv_folds = [list(np.asarray(cv_folds, dtype=object).ravel())]
        names = _str_column(filenames, "filenames", k, allow_missing=False)
        if self.label_map is not None:
            nominal, numeric, _ = _labels(label_nominal, label_numeric, self.label_map, k,
                                          map_checked=True)
        else:
            nominal, numeric, _ = _labels_free(label_nominal, label_numeric, k)
        chunks = _int_column(chunk_nr, "chunk_nr", (k,), np.int64)
        if cv_folds is None:
            cv = np.full((k, self.n_folds), MISSING, dtype=np.int8)
        else:
            cv_arr = np.asarray(cv_folds, dtype=object) if not isinstance(cv_folds, np.ndarray) \
                else cv_folds
            if cv_arr.ndim != 2 and not (cv_arr.size == 0 and self.n_folds == 0):
                raise ValueError(f"cv_folds must have shape ({k}, {self.n_folds}), got "
                                 f"{cv_arr.shape}")
            cv_arr = cv_arr.reshape(k, -1) if cv_arr.size == 0 else cv_arr
            cv = _int_column(cv_arr, "cv_folds", (k, self.n_folds), np.int8, allowed=(0, 1))
        part = _int_column(partition, "partition", (k,), np.int8, allowed=(0, 1, 2))
        self._buffer.append(dict(features=feats, filename=names, chunk_nr=chunks,
                                 label_nominal=nominal, label_numeric=numeric, cv_folds=cv,
                                 partition=part))
        self._buffered += k
        self._buffered_bytes += feats.nbytes
        if self._buffered_bytes >= self._FLUSH_BYTES:
            self.flush()

    def written_filenames(self) -> set:
        """File names of the instances written so far (resumed ones included)."""
        names = set()
        if self._nc is not None and self._n_disk:
            with _NC_LOCK:
                raw = self._nc.variables["filename"][0:self._n_disk]
            names.update(str(v) for v in np.asarray(raw).ravel())
        for b in self._buffer:
            names.update(b["filename"].tolist())
        return names

    def flush(self) -> None:
        """Write buffered instances to the partial file and make them durable."""
        if not self._buffer or self._nc is None:
            return
        cols = {key: np.concatenate([b[key] for b in self._buffer]) for key in self._buffer[0]}
        a, b = self._n_disk, self._n_disk + self._buffered
        nc = self._nc
        labels = cols["label_nominal"].copy()
        labels[np.equal(labels, None)] = ""  # xarray's encoding of a missing string
        with _NC_LOCK:
            # metadata first, features last, then the count: a crash in between leaves a
            # count that is smaller than the dimension, which resume detects and restarts.
            nc.variables["filename"][a:b] = cols["filename"]
            nc.variables["chunk_nr"][a:b] = cols["chunk_nr"]
            nc.variables["label_nominal"][a:b] = labels
            nc.variables["label_numeric"][a:b] = cols["label_numeric"]
            if self.n_folds:
                nc.variables["cv_folds"][a:b, :] = cols["cv_folds"]
            nc.variables["partition"][a:b] = cols["partition"]
            nc.variables["features"][a:b] = cols["features"]
            nc.setncattr(_ATTR_COMPLETE, np.int64(b))
            nc.sync()
        self._n_disk = b
        self._buffer.clear()
        self._buffered = 0
        self._buffered_bytes = 0

    # finishing ------------------------------------------------------------------------------
    def close(self, extra_attrs: Optional[Mapping[str, Any]] = None) -> Path:
        """Write what is buffered, close the file and rename it to ``path``; returns ``path``.

        ``extra_attrs`` are global attributes known only at the end (e.g. skipped files);
        they are stored like ``attrs``.
        """
        if self._closed:
            return self.path
        extra = _check_attrs(extra_attrs)
        try:
            self.flush()
            if extra:
                with _NC_LOCK:
                    names = set(json.loads(self._nc.getncattr(_ATTR_JSON)))
                    for key, value in extra.items():
                        if isinstance(value, str):
                            self._nc.setncattr(key, value)
                            names.discard(key)
                        else:
                            self._nc.setncattr(key, json.dumps(value, sort_keys=True))
                            names.add(key)
                    self._nc.setncattr(_ATTR_JSON, json.dumps(sorted(names)))
        finally:
            with _NC_LOCK:
                self._nc.close()
            self._nc = None
            self._closed = True
        os.replace(self.partial, self.path)
        return self.path

    def abort(self, keep_partial: Optional[bool] = None) -> None:
        """Stop without completing: keep ``<path>.partial`` for resuming (after writing the
        buffer) or delete it. ``path`` is not touched."""
        if self._closed:
            return
        keep = self.keep_partial if keep_partial is None else bool(keep_partial)
        try:
            if keep:
                self.flush()
        except Exception as exc:  # noqa: BLE001 - keep what is on disk, report, go on
            log.warning("could not write the last instances to %s: %s", self.partial, exc)
        finally:
            if self._nc is not None:
                with _NC_LOCK:
                    self._nc.close()
                self._nc = None
            self._closed = True
            if not keep:
                with contextlib.suppress(FileNotFoundError):
                    self.partial.unlink()

    def __enter__(self) -> "DataSetWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __del__(self):  # pragma: no cover - only on leaks
        if not getattr(self, "_closed", True) and getattr(self, "_nc", None) is not None:
            with contextlib.suppress(Exception):
                self._nc.close()


def _labels_free(label_nominal, label_numeric, k):
    """Labels for a writer without label map: stored as given, no mapping."""
    nominal = _str_column(label_nominal, "label_nominal", k, allow_missing=True)
    numeric = _int_column(label_numeric, "label_numeric", (k,), np.int64)
    return nominal, numeric, None


def save(dataset: DataSet, path: PathLike) -> None:
    """Write ``dataset`` to ``path`` (netCDF4, auDeep layout) atomically.

    The file appears under ``path`` only when complete; on failure nothing is left behind.
    Lazy features are copied batch by batch.

    >>> save(ds, "features.nc")          # doctest: +SKIP
    >>> load("features.nc").equals(ds)   # doctest: +SKIP
    True
    """
    if not isinstance(dataset, DataSet):
        raise TypeError(f"dataset must be a DataSet, got {type(dataset).__name__}")
    n = len(dataset)
    per_batch = max(1, (8 << 20) // max(1, 4 * int(np.prod(dataset.feature_shape, dtype=np.int64))))
    with DataSetWriter(path, dataset.feature_dims, dataset.feature_shape, dataset.n_folds,
                       dataset.label_map, dataset.attrs, keep_partial=False) as w:
        for start, stop, x in dataset.iter_batches(per_batch):
            w.append(x, dataset.filenames[start:stop], dataset.chunk_nr[start:stop],
                     dataset.label_nominal[start:stop], dataset.label_numeric[start:stop],
                     dataset.cv_folds[start:stop], dataset.partition[start:stop])
        if w.n_written != n:  # pragma: no cover - would be a bug in iter_batches
            raise RuntimeError(f"wrote {w.n_written} of {n} instances")


# ------------------------------------------------------------------------------ reading

def _read_strings(var, n: int, path: Path, allow_missing: bool) -> np.ndarray:
    raw = var[:]
    if isinstance(raw, np.ma.MaskedArray):
        raw = raw.filled(np.nan) if raw.dtype.kind == "f" else raw.data
    out = np.empty(n, dtype=object)
    if raw.dtype.kind == "f":  # xarray writes an all-missing string column as float NaN
        if not np.isnan(raw).all():
            raise ValueError(f"{path}: variable {var.name} holds numbers, expected strings")
        if not allow_missing:
            raise ValueError(f"{path}: variable {var.name} has missing values")
        return out
    if raw.dtype.kind == "S" and raw.ndim == 2:  # fixed-width char arrays
        import netCDF4
        raw = netCDF4.chartostring(raw)
    raw = np.asarray(raw).reshape(-1)
    if raw.shape[0] != n:
        raise ValueError(f"{path}: variable {var.name} has {raw.shape[0]} entries, expected {n}")
    for i, v in enumerate(raw):
        if isinstance(v, bytes):
            v = v.decode("utf-8")
        if v is None or v == "" or (isinstance(v, float) and np.isnan(v)):
            if not allow_missing:
                raise ValueError(f"{path}: {var.name}[{i}] is missing")
            out[i] = None
        else:
            out[i] = str(v)
    return out


def _read_ints(nc, name: str, shape, dtype, path: Path, allowed=None) -> np.ndarray:
    if name not in nc.variables:
        return np.full(shape, MISSING, dtype=dtype)
    var = nc.variables[name]
    raw = np.asarray(var[:])
    if raw.dtype.kind == "f":
        miss = np.isnan(raw)
    elif raw.dtype.kind in "iu":
        fill = var.getncattr("_FillValue") if "_FillValue" in var.ncattrs() else None
        miss = (raw == fill) if fill is not None else np.zeros(raw.shape, dtype=bool)
        raw = raw.astype(np.int64)
    else:
        raise ValueError(f"{path}: variable {name} has unexpected type {raw.dtype}")
    vals = np.where(miss, np.nan, raw.astype(np.float64))
    try:
        return _int_column(vals.reshape(shape), name, shape, dtype, allowed)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from None


def _decode_attrs(nc) -> Dict[str, Any]:
    names = nc.ncattrs()
    json_names = set()
    if _ATTR_JSON in names:
        with contextlib.suppress(ValueError, TypeError):
            json_names = set(json.loads(nc.getncattr(_ATTR_JSON)))
    attrs = {}
    for key in names:
        if key in _RESERVED_ATTRS or key.startswith(_ATTR_PREFIX) or key.startswith("_"):
            continue
        value = nc.getncattr(key)
        if key in json_names:
            value = json.loads(value)
        elif isinstance(value, np.ndarray):
            value = value.tolist()
        elif isinstance(value, np.generic):
            value = value.item()
        if not _NAME_RE.match(key):
            continue
        attrs[key] = value
    return attrs


def load(path: PathLike, lazy: bool = False) -> DataSet:
    """Read a data set written here or by auDeep (netCDF4).

    Parameters
    ----------
    path : str or Path
    lazy : bool
        Keep the features on disk (:class:`LazyFeatures`, read on indexing); metadata are
        always read. Use for sets larger than memory; close with ``ds.close()`` or ``with``.

    Returns
    -------
    DataSet
        ``features`` float32 ``(n, *feature_shape)`` (or lazy), metadata as described in the
        module docstring.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        The file is not netCDF4, lacks auDeep's variables, is incomplete or inconsistent
        (message names the file).

    >>> ds = load("spectrograms.nc")                 # doctest: +SKIP
    >>> ds.features.shape                            # doctest: +SKIP
    (400, 124, 128)
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"data set file {path} does not exist")
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory, expected a netCDF (.nc) data set file")
    if not isinstance(lazy, (bool, np.bool_)):
        raise TypeError(f"lazy must be True or False, got {lazy!r}")
    with _NC_LOCK:
        columns = _read_columns(path, bool(lazy))
    try:
        return DataSet(**columns)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from None


def _read_columns(path: Path, lazy: bool) -> Dict[str, Any]:
    import netCDF4

    try:
        nc = netCDF4.Dataset(str(path), "r")
    except OSError as exc:
        raise ValueError(f"{path} is not a readable netCDF4 data set ({exc})") from None
    try:
        nc.set_auto_maskandscale(False)
        for name in ("features", "filename"):
            if name not in nc.variables:
                raise ValueError(f"{path} is not an auDeep/rae_fast data set: variable {name!r} "
                                 "is missing")
        if _INSTANCE not in nc.dimensions:
            raise ValueError(f"{path}: dimension 'instance' is missing")
        fvar = nc.variables["features"]
        if not fvar.dimensions or fvar.dimensions[0] != _INSTANCE:
            raise ValueError(f"{path}: features must have 'instance' as first dimension, got "
                             f"{fvar.dimensions}")
        stored_dims = tuple(fvar.dimensions[1:])
        if _ATTR_FEATURE_DIMS in nc.ncattrs():
            try:
                dims = tuple(json.loads(nc.getncattr(_ATTR_FEATURE_DIMS)))
            except (TypeError, ValueError):
                raise ValueError(f"{path}: global attribute feature_dims is not JSON") from None
            if dims != stored_dims:
                raise ValueError(f"{path}: feature_dims {dims} does not match the dimensions of "
                                 f"features {stored_dims}")
        else:
            dims = stored_dims
        if fvar.dtype.kind != "f":
            raise ValueError(f"{path}: features has type {fvar.dtype}, expected floating point")
        n = len(nc.dimensions[_INSTANCE])
        if _ATTR_COMPLETE in nc.ncattrs() and int(nc.getncattr(_ATTR_COMPLETE)) != n:
            raise ValueError(f"{path} is incomplete: {int(nc.getncattr(_ATTR_COMPLETE))} of {n} "
                             "instances were written (an interrupted run?)")
        feature_shape = tuple(len(nc.dimensions[d]) for d in dims)
        filenames = _read_strings(nc.variables["filename"], n, path, allow_missing=False)
        nominal = (_read_strings(nc.variables["label_nominal"], n, path, allow_missing=True)
                   if "label_nominal" in nc.variables else None)
        numeric = _read_ints(nc, "label_numeric", (n,), np.int64, path)
        chunk_nr = _read_ints(nc, "chunk_nr", (n,), np.int64, path)
        n_folds = len(nc.dimensions[_FOLD]) if _FOLD in nc.dimensions else 0
        cv = (_read_ints(nc, "cv_folds", (n, n_folds), np.int8, path, (0, 1))
              if n_folds else np.zeros((n, 0), np.int8))
        partition = _read_ints(nc, "partition", (n,), np.int8, path, (0, 1, 2))
        label_map = None
        if _ATTR_LABEL_MAP in nc.ncattrs():
            try:
                label_map = _check_label_map(json.loads(nc.getncattr(_ATTR_LABEL_MAP)))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{path}: invalid label_map attribute ({exc})") from None
        attrs = _decode_attrs(nc)
        if lazy:
            features = LazyFeatures(path, n, feature_shape)
        else:
            raw = fvar[:] if n else np.zeros((0,) + feature_shape, np.float32)
            features = np.ascontiguousarray(raw, dtype=np.float32)
    finally:
        nc.close()
    return dict(features=features, feature_dims=dims, filenames=filenames, chunk_nr=chunk_nr,
                label_nominal=nominal, label_numeric=numeric, cv_folds=cv, partition=partition,
                label_map=label_map, attrs=attrs)


# ---------------------------------------------------------------------------- integrity

def check_integrity(dataset: DataSet) -> List[str]:
    """Problems that make a data set inconsistent (empty list when it is fine).

    Checks auDeep's constraints: instances of one file share labels, folds and partition;
    every file has the same number of chunks, numbered ``0..k-1`` exactly once; labels agree
    with the label map; plus: no duplicate (filename, chunk) pairs and finite features (read
    batch by batch for lazy sets).

    >>> check_integrity(ds)        # doctest: +SKIP
    []
    """
    problems: List[str] = []
    groups: Dict[str, List[int]] = {}
    for i, f in enumerate(dataset.filenames):
        groups.setdefault(f, []).append(i)
    counts = set()
    for fname, idx in groups.items():
        idx_arr = np.asarray(idx)
        if len({dataset.label_nominal[i] for i in idx}) > 1:
            problems.append(f"{fname}: chunks have different nominal labels")
        if len(np.unique(dataset.label_numeric[idx_arr])) > 1:
            problems.append(f"{fname}: chunks have different numeric labels")
        if dataset.n_folds and len(np.unique(dataset.cv_folds[idx_arr], axis=0)) > 1:
            problems.append(f"{fname}: chunks have different cross-validation splits")
        if len(np.unique(dataset.partition[idx_arr])) > 1:
            problems.append(f"{fname}: chunks have different partitions")
        chunks = np.sort(dataset.chunk_nr[idx_arr])
        counts.add(len(idx))
        unknown_single = len(idx) == 1 and chunks[0] == MISSING  # unchunked, number unknown
        if not unknown_single and not np.array_equal(chunks, np.arange(len(idx))):
            problems.append(f"{fname}: chunk numbers are {chunks.tolist()}, expected "
                            f"0..{len(idx) - 1} once each")
    if len(counts) > 1:
        problems.append(f"files have different numbers of chunks: {sorted(counts)}")
    if dataset.label_map is not None:
        for i, (nom, num) in enumerate(zip(dataset.label_nominal, dataset.label_numeric)):
            if (nom is None) != (num == MISSING):
                problems.append(f"instance {i} ({dataset.filenames[i]}): nominal label {nom!r} "
                                f"but numeric label {num}")
            elif nom is not None and dataset.label_map.get(nom) != num:
                problems.append(f"instance {i} ({dataset.filenames[i]}): label {nom!r} -> {num} "
                                f"disagrees with the label map")
    try:
        for start, _, x in dataset.iter_batches(256):
            if not np.isfinite(x).all():
                bad = start + int(np.argwhere(~np.isfinite(x))[0][0])
                problems.append(f"instance {bad} ({dataset.filenames[bad]}): features contain "
                                "NaN or Inf")
                break
    except ValueError as exc:  # lazy reads check finiteness themselves
        problems.append(str(exc))
    return problems


# ------------------------------------------------------------------ folds and partitions

def _group_order(n: int, labels, groups, seed) -> Tuple[np.ndarray, List[np.ndarray]]:
    """Groups (files) shuffled within each label and concatenated label by label.

    Returns ``(group_of_instance, groups_in_order)`` where ``groups_in_order[c]`` lists
    the group ids of label ``c`` in dealing order.
    """
    if groups is None:
        gid = np.arange(n)
    else:
        keys = list(groups)
        if len(keys) != n:
            raise ValueError(f"groups must have {n} entries, got {len(keys)}")
        index: Dict[Any, int] = {}
        gid = np.array([index.setdefault(k, len(index)) for k in keys], dtype=np.int64)
    n_groups = int(gid.max()) + 1 if n else 0
    glabel: List[Any] = [None] * n_groups
    if labels is not None:
        labs = list(labels)
        if len(labs) != n:
            raise ValueError(f"labels must have {n} entries, got {len(labs)}")
        seen = [False] * n_groups
        for i, lab in enumerate(labs):
            if isinstance(lab, (numbers.Integral, np.integer)) and int(lab) == MISSING:
                lab = None
            g = gid[i]
            if not seen[g]:
                glabel[g], seen[g] = lab, True
            elif glabel[g] != lab:
                raise ValueError(f"instances of one file (group {groups[i] if groups is not None else i!r}) "
                                 f"have different labels ({glabel[g]!r} and {lab!r})")
    rng = np.random.default_rng(seed)
    by_label: Dict[Any, List[int]] = {}
    for g, lab in enumerate(glabel):
        by_label.setdefault(lab, []).append(g)
    keys = sorted(by_label, key=lambda k: (k is None, str(k)))
    ordered = []
    for k in keys:
        members = np.asarray(by_label[k], dtype=np.int64)
        ordered.append(members[rng.permutation(len(members))])
    return gid, ordered


def make_cv_folds(n_folds: int, *, n: Optional[int] = None, labels=None, groups=None,
                  seed: int = 0) -> np.ndarray:
    """Stratified, grouped K-fold assignment: int8 ``(n, n_folds)``, 0 train / 1 validation.

    Every group (e.g. all chunks of one file: pass the filenames as ``groups``) lands in the
    validation split of exactly one fold; groups of each label are shuffled (``seed``) and
    dealt round-robin over the folds, label after label, so that every fold gets each label's
    share to within one group and fold sizes differ by at most one group.

    >>> make_cv_folds(2, labels=["a", "a", "b", "b"], seed=0).sum(axis=0).tolist()
    [2, 2]
    """
    if isinstance(n_folds, (bool, np.bool_)) or not isinstance(n_folds, numbers.Integral):
        raise TypeError(f"n_folds must be an int, got {n_folds!r}")
    if n is None:
        src = labels if labels is not None else groups
        if src is None:
            raise ValueError("give n, labels or groups")
        n = len(list(src))
    if n_folds < 2:
        raise ValueError(f"n_folds must be >= 2, got {n_folds}")
    gid, ordered = _group_order(n, labels, groups, seed)
    n_groups = sum(len(o) for o in ordered)
    if n_groups < n_folds:
        raise ValueError(f"cannot make {n_folds} folds from only {n_groups} file(s)")
    fold_of_group = np.empty(n_groups, dtype=np.int64)
    fold_of_group[np.concatenate(ordered)] = np.arange(n_groups) % n_folds
    out = np.zeros((n, n_folds), dtype=np.int8)
    out[np.arange(n), fold_of_group[gid]] = Split.VALID
    return out


def make_partitions(partitions=(Partition.TRAIN, Partition.DEVEL, Partition.TEST), ratios=None,
                    *, n: Optional[int] = None, labels=None, groups=None,
                    seed: int = 0) -> np.ndarray:
    """Stratified, grouped random partitioning: int8 ``(n,)`` of :class:`Partition` values.

    ``partitions`` (names or values) share the groups of each label in proportion to
    ``ratios`` (default: equal shares, as auDeep's ``--add-partitioning``); a group's
    instances (a file's chunks) stay in one partition.

    >>> make_partitions(["train", "test"], [0.75, 0.25], labels=list("aaaabbbb")).tolist()
    [0, 0, 0, 2, 2, 0, 0, 0]
    """
    parts = []
    for p in partitions:
        if isinstance(p, str):
            try:
                p = Partition[p.upper()]
            except KeyError:
                raise ValueError(f"unknown partition {p!r} (train, devel or test)") from None
        parts.append(Partition(int(p)))
    if not parts or len(set(parts)) != len(parts):
        raise ValueError(f"partitions must be distinct and non-empty, got {partitions!r}")
    r = np.ones(len(parts)) if ratios is None else np.asarray(ratios, dtype=np.float64)
    if r.shape != (len(parts),) or not np.isfinite(r).all() or (r < 0).any() or r.sum() <= 0:
        raise ValueError(f"ratios must be {len(parts)} non-negative numbers with a positive "
                         f"sum, got {ratios!r}")
    edges = np.cumsum(r / r.sum())
    if n is None:
        src = labels if labels is not None else groups
        if src is None:
            raise ValueError("give n, labels or groups")
        n = len(list(src))
    gid, ordered = _group_order(n, labels, groups, seed)
    n_groups = sum(len(o) for o in ordered)
    part_of_group = np.empty(n_groups, dtype=np.int64)
    values = np.array([int(p) for p in parts])
    for members in ordered:
        pos = (np.arange(len(members)) + 0.5) / len(members)
        idx = np.minimum(np.searchsorted(edges, pos, side="right"), len(parts) - 1)
        part_of_group[members] = values[idx]
    return part_of_group[gid].astype(np.int8)
