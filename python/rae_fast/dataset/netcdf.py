"""Reading netCDF4 data sets in auDeep's layout: :func:`load` (files written by auDeep load
here, files written here open in auDeep / xarray) and :func:`read_extra_columns`."""
from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any, Dict

import numpy as np

from ._schema import (_VARIABLES, _ATTR_COMPLETE, _ATTR_FEATURE_DIMS, _ATTR_JSON,
                      _ATTR_LABEL_MAP, _ATTR_PREFIX, _FOLD, _INSTANCE, _NAME_RE,
                      _RESERVED_ATTRS, MISSING, PathLike, _check_label_map, _int_column)
from .lazy import _NC_LOCK, LazyFeatures
from .model import DataSet


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


def read_extra_columns(path: PathLike) -> Dict[str, np.ndarray]:
    """The per-instance variables a file holds besides auDeep's (``extra_columns`` of
    :class:`DataSetWriter`, e.g. the ``start`` / ``end`` times of ``rae-fast embed``), as
    float64 arrays in instance order. Empty for files without any.

    >>> read_extra_columns("embeddings.nc")["start"][:3]          # doctest: +SKIP
    array([0., 5., 10.])
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"data set file {path} does not exist")
    with _NC_LOCK:
        nc = _open(path)
        try:
            return {name: np.asarray(var[:], dtype=np.float64) for name, var in
                    nc.variables.items()
                    if name not in _VARIABLES and var.dimensions == (_INSTANCE,)}
        finally:
            nc.close()


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


def _open(path: Path):
    """The netCDF file ``path`` opened for reading, raw values (no masking / scaling)."""
    import netCDF4

    try:
        nc = netCDF4.Dataset(str(path), "r")
    except OSError as exc:
        raise ValueError(f"{path} is not a readable netCDF4 data set ({exc})") from None
    nc.set_auto_maskandscale(False)
    return nc


def _read_columns(path: Path, lazy: bool) -> Dict[str, Any]:
    nc = _open(path)
    try:
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
