"""The vocabulary of the data model and the validation of its columns.

Constants of auDeep's file format, :data:`MISSING`, :class:`Partition`, :class:`Split`, and the
checks that turn user input into the typed columns of a :class:`~rae_fast.dataset.DataSet`.
Nothing here touches a file.
"""
from __future__ import annotations

import json
import math
import numbers
import os
import re
from enum import IntEnum
from typing import Any, Dict, Iterable, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from .._validation import is_integer
from .._io import escape_filename

PathLike = Union[str, "os.PathLike[str]"]

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


def partition_list(parts, name: str = "partitions", *, distinct: bool = False) -> list:
    """Partitions given as a :class:`Partition`, its value or name (``"train"``, ``"devel"``,
    ``"test"``; any case), or a sequence of them -> a non-empty list of :class:`Partition`.

    Repeats are dropped, or refused with ``distinct=True``. Errors name ``name``.

    >>> partition_list(["train", 2])
    [<Partition.TRAIN: 0>, <Partition.TEST: 2>]
    """
    if parts is None:
        raise ValueError(f"{name} is required")
    if isinstance(parts, (str, numbers.Integral, Partition)):
        parts = [parts]
    out: list = []
    for p in parts:
        if isinstance(p, str):
            try:
                p = Partition[p.strip().upper()]
            except KeyError:
                raise ValueError(f"{name}: unknown partition {p!r} (use train, devel or test)") \
                    from None
        elif not is_integer(p):
            raise TypeError(f"{name} must hold partition names or values (a Partition, int or "
                            f"name), got {p!r}")
        else:
            try:
                p = Partition(int(p))
            except ValueError:
                raise ValueError(f"{name}: unknown partition {p!r} (0 train, 1 devel, 2 test)") \
                    from None
        if p in out:
            if distinct:
                raise ValueError(f"{name} must be distinct, got {parts!r}")
            continue
        out.append(p)
    if not out:
        raise ValueError(f"{name} is empty")
    return out


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
        if not is_integer(s):
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
        if not is_integer(idx):
            if isinstance(idx, float) and float(idx).is_integer():
                idx = int(idx)
            else:
                raise TypeError(f"label_map[{name!r}] must be an int, got {idx!r}")
        if idx < 0:
            raise ValueError(f"label_map[{name!r}] must be >= 0, got {idx}")
        name = _storable(name)
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


def _storable(text: str) -> str:
    """``text`` as valid UTF-8 for netCDF: a string with lone surrogates (a file name that is
    not UTF-8, as ``os.listdir`` returns it) is escaped losslessly (``\\xNN``, see
    :func:`rae_fast.layouts.escape_filename`); any other string is kept as it is."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return escape_filename(text)


def _str_column(values, name: str, n: int, allow_missing: bool) -> np.ndarray:
    """Validate a string column -> object array of str (None for missing); strings that are
    not valid UTF-8 (file names from the file system) are escaped by :func:`_storable`."""
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
            v = v.decode("utf-8", "surrogateescape")
        if v is None or (isinstance(v, float) and np.isnan(v)):
            if not allow_missing:
                raise ValueError(f"{name}[{i}] is missing")
            out[i] = None
        elif isinstance(v, str):
            if v == "":
                raise ValueError(f"{name}[{i}] is an empty string (use None for missing)")
            out[i] = _storable(str(v))
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
    if is_integer(indices):
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



def _labels_free(label_nominal, label_numeric, k):
    """Labels for a writer without label map: stored as given, no mapping."""
    nominal = _str_column(label_nominal, "label_nominal", k, allow_missing=True)
    numeric = _int_column(label_numeric, "label_numeric", (k,), np.int64)
    return nominal, numeric, None

