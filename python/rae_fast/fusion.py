"""Fusion: concatenate feature sets of the same instances, or the chunks of each file.

:func:`fuse` joins several data sets whose instances match one for one (same file, chunk,
labels, folds and partition, in the same order -- or in any order with ``align=True``) by
concatenating their features along a feature dimension (``"generated"`` for
representations), each set optionally multiplied by a weight. :func:`fuse_files` does the same
file to file, streaming, so that sets larger than memory can be fused. :func:`fuse_chunks`
turns the chunks of each file into one instance (features concatenated in chunk order).

Weights and standardisation: the evaluation standardises every feature, which would cancel a
plain multiplication. So the fused set also records its weights in the attribute
``feature_weights`` (``{"dimension": ..., "runs": [[count, weight], ...]}``) and the
evaluation applies them again after standardising (see
:func:`rae_fast.evaluation.protocols.feature_weights_from_attrs`): a set of weight 2 then
counts twice as much as a set of weight 1 for the classifier, as intended.

>>> import numpy as np
>>> from rae_fast.dataset import DataSet
>>> a = DataSet(np.ones((2, 3), np.float32), ("generated",), ["x.wav", "y.wav"])
>>> b = DataSet(np.zeros((2, 2), np.float32), ("generated",), ["x.wav", "y.wav"])
>>> fused = fuse([a, b], weights=[1.0, 0.5])
>>> fused.feature_shape, fused.attrs["feature_weights"]["runs"]
((5,), [[3, 1.0], [2, 0.5]])
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np

from ._validation import check_float
from .dataset import MISSING, DataSet, DataSetWriter, load

PathLike = Union[str, "os.PathLike[str]"]

__all__ = ["fuse", "fuse_files", "fuse_chunks", "check_same_instances"]

log = logging.getLogger(__name__)

_WEIGHTS_ATTR = "feature_weights"
_INPUTS_ATTR = "fusion_inputs"


# ------------------------------------------------------------------------------- checking

def _describe(ds: DataSet, i: int) -> str:
    chunk = int(ds.chunk_nr[i])
    return f"{ds.filenames[i]!r}" + (f" chunk {chunk}" if chunk != MISSING else "")


def check_same_instances(a: DataSet, b: DataSet, name_a: str = "the first data set",
                         name_b: str = "the second data set") -> None:
    """Raise ``ValueError`` unless ``a`` and ``b`` describe the same instances in the same order.

    Compared instance by instance: file name, chunk number, nominal and numeric label,
    cross-validation splits and partition; plus the label maps. The message names the
    first instance that differs and what differs.

    >>> check_same_instances(ds_a, ds_b, "a.nc", "b.nc")          # doctest: +SKIP
    """
    if len(a) != len(b):
        raise ValueError(f"{name_a} has {len(a)} instances but {name_b} has {len(b)}; fused "
                         "data sets must hold the same instances")
    if a.n_folds != b.n_folds:
        raise ValueError(f"{name_a} has {a.n_folds} cross-validation folds but {name_b} has "
                         f"{b.n_folds}")
    if (a.label_map or None) != (b.label_map or None):
        raise ValueError(f"{name_a} and {name_b} have different label maps ({a.label_map} vs "
                         f"{b.label_map})")
    checks = [
        ("file name", a.filenames != b.filenames if len(a) else np.zeros(0, bool)),
        ("chunk number", a.chunk_nr != b.chunk_nr),
        ("nominal label", np.array([x != y for x, y in zip(a.label_nominal, b.label_nominal)],
                                   dtype=bool)),
        ("numeric label", a.label_numeric != b.label_numeric),
        ("cross-validation splits", np.any(a.cv_folds != b.cv_folds, axis=1)
         if a.n_folds else np.zeros(len(a), bool)),
        ("partition", a.partition != b.partition),
    ]
    bad = np.zeros(len(a), dtype=bool)
    for _, diff in checks:
        bad |= np.asarray(diff, dtype=bool)
    if not bad.any():
        return
    i = int(np.flatnonzero(bad)[0])
    what = [label for label, diff in checks if diff[i]]
    values = {
        "file name": (a.filenames[i], b.filenames[i]),
        "chunk number": (int(a.chunk_nr[i]), int(b.chunk_nr[i])),
        "nominal label": (a.label_nominal[i], b.label_nominal[i]),
        "numeric label": (int(a.label_numeric[i]), int(b.label_numeric[i])),
        "cross-validation splits": (a.cv_folds[i].tolist(), b.cv_folds[i].tolist()),
        "partition": (int(a.partition[i]), int(b.partition[i])),
    }
    detail = "; ".join(f"{w}: {values[w][0]!r} vs {values[w][1]!r}" for w in what)
    raise ValueError(f"instance {i} ({_describe(a, i)} in {name_a}) does not match {name_b}: "
                     f"{detail}")


def _alignment(ref: DataSet, other: DataSet, name_ref: str, name_other: str) -> np.ndarray:
    """Indices into ``other`` that put its instances in the order of ``ref`` (by file, chunk)."""
    def keys(ds, name):
        out = {}
        for i, (f, c) in enumerate(zip(ds.filenames, ds.chunk_nr)):
            k = (f, int(c))
            if k in out:
                raise ValueError(f"{name} holds instance {f!r} chunk {int(c)} twice; cannot "
                                 "align by file name and chunk")
            out[k] = i
        return out

    ka, kb = keys(ref, name_ref), keys(other, name_other)
    order = np.empty(len(ref), dtype=np.int64)
    for (f, c), i in ka.items():
        j = kb.get((f, c))
        if j is None:
            raise ValueError(f"instance {i} ({f!r} chunk {c} of {name_ref}) is missing from "
                             f"{name_other}")
        order[i] = j
    if len(kb) != len(ka):
        extra = next(k for k in kb if k not in ka)
        raise ValueError(f"{name_other} holds instance {extra[0]!r} chunk {extra[1]} that "
                         f"{name_ref} does not have")
    return order


# --------------------------------------------------------------------------------- weights

def _check_weights(weights, n: int) -> List[float]:
    if weights is None:
        return [1.0] * n
    if isinstance(weights, (str, bytes)) or not hasattr(weights, "__len__"):
        raise TypeError(f"weights must be a sequence of {n} numbers, got {weights!r}")
    if len(weights) != n:
        raise ValueError(f"weights must have one entry per data set ({n}), got {len(weights)}")
    out = []
    for w in weights:
        out.append(check_float(w, "weights", 0.0, strict_min=True))
    return out


def _input_runs(ds: DataSet, dimension: str, size: int, name: str) -> List[List[float]]:
    spec = ds.attrs.get(_WEIGHTS_ATTR)
    if spec is None:
        return [[size, 1.0]]
    try:
        dim, runs = spec["dimension"], [[int(c), float(w)] for c, w in spec["runs"]]
    except (TypeError, KeyError, ValueError):
        raise ValueError(f"{name}: attribute {_WEIGHTS_ATTR} is malformed: {spec!r}") from None
    if dim != dimension or sum(c for c, _ in runs) != size:
        raise ValueError(f"{name} is weighted along {dim!r} ({spec}); it can only be fused "
                         f"again along that dimension")
    return runs


def _merge_runs(runs: List[List[float]]) -> List[List[Any]]:
    out: List[List[Any]] = []
    for c, w in runs:
        if c <= 0:
            continue
        if out and out[-1][1] == w:
            out[-1][0] += int(c)
        else:
            out.append([int(c), float(w)])
    return out


def _common_attrs(datasets: Sequence[DataSet]) -> Dict[str, Any]:
    first = datasets[0].attrs
    return {k: v for k, v in first.items()
            if k not in (_WEIGHTS_ATTR, _INPUTS_ATTR)
            and all(k in d.attrs and d.attrs[k] == v for d in datasets[1:])}


# ----------------------------------------------------------------------------------- fuse

def _plan(datasets: Sequence[DataSet], names: Sequence[str], weights, dimension: str,
          align: bool):
    if isinstance(datasets, DataSet) or len(datasets) < 2:
        raise ValueError("fusion needs at least two data sets")
    for ds, name in zip(datasets, names):
        if not isinstance(ds, DataSet):
            raise TypeError(f"{name} is not a DataSet ({type(ds).__name__})")
    if not isinstance(dimension, str):
        raise TypeError(f"dimension must be a str, got {dimension!r}")
    w = _check_weights(weights, len(datasets))
    ref = datasets[0]
    for ds, name in zip(datasets, names):
        if dimension not in ds.feature_dims:
            raise ValueError(f"{name} has no feature dimension {dimension!r} (its dimensions "
                             f"are {ds.feature_dims}); choose dimension=NAME accordingly")
        if ds.feature_dims != ref.feature_dims:
            raise ValueError(f"{name} has feature dimensions {ds.feature_dims} but {names[0]} "
                             f"has {ref.feature_dims}")
    axis = ref.feature_dims.index(dimension)
    for ds, name in zip(datasets[1:], names[1:]):
        other_a = ref.feature_shape[:axis] + ref.feature_shape[axis + 1:]
        other_b = ds.feature_shape[:axis] + ds.feature_shape[axis + 1:]
        if other_a != other_b:
            raise ValueError(f"{name} has feature shape {ds.feature_shape} but {names[0]} has "
                             f"{ref.feature_shape}; only {dimension!r} may differ")
    orders: List[Optional[np.ndarray]] = [None]
    for ds, name in zip(datasets[1:], names[1:]):
        order = _alignment(ref, ds, names[0], name) if align else None
        view = ds if order is None else _meta_view(ds, order)
        check_same_instances(ref, view, names[0], name)
        orders.append(order)
    runs: List[List[float]] = []
    for ds, name, wi in zip(datasets, names, w):
        runs += [[c, cw * wi] for c, cw in _input_runs(ds, dimension, ds.feature_shape[axis],
                                                       name)]
    runs = _merge_runs(runs)
    attrs = _common_attrs(datasets)
    attrs[_INPUTS_ATTR] = [{"name": str(n), "size": int(ds.feature_shape[axis]), "weight": wi}
                           for ds, n, wi in zip(datasets, names, w)]
    if any(r[1] != 1.0 for r in runs):
        attrs[_WEIGHTS_ATTR] = {"dimension": dimension, "runs": runs}
    shape = list(ref.feature_shape)
    shape[axis] = sum(ds.feature_shape[axis] for ds in datasets)
    return w, orders, axis, attrs, tuple(shape)


def _meta_view(ds: DataSet, order: np.ndarray) -> DataSet:
    """Metadata of ``ds`` reordered, with tiny dummy features (for comparisons only)."""
    return DataSet(np.zeros((len(order), 1), np.float32), ("x",),
                   **ds.instance_metadata(order), label_map=ds.label_map)


def _batch(datasets, orders, weights, axis, start, stop) -> np.ndarray:
    parts = []
    for ds, order, w in zip(datasets, orders, weights):
        idx = np.arange(start, stop) if order is None else order[start:stop]
        x = np.asarray(ds.features[idx], dtype=np.float32)
        parts.append(x if w == 1.0 else x * np.float32(w))
    return np.concatenate(parts, axis=axis + 1)


def fuse(datasets: Sequence[DataSet], weights: Optional[Sequence[float]] = None,
         dimension: str = "generated", align: bool = False,
         names: Optional[Sequence[str]] = None) -> DataSet:
    """Concatenate the features of data sets that hold the same instances.

    Parameters
    ----------
    datasets : sequence of >= 2 DataSet
        Same instances (file, chunk, labels, folds, partition) in the same order, same
        feature dimensions; only the size of ``dimension`` may differ.
    weights : sequence of float > 0, optional
        Multiplies each set's features (and is recorded in ``attrs["feature_weights"]`` so
        that the evaluation keeps it after standardisation). Default: all 1.
    dimension : str
        Feature dimension to concatenate along (``"generated"`` for representations).
    align : bool
        Reorder the later sets to the first set's order, matching instances by (file name,
        chunk number), instead of requiring the same order.
    names : sequence of str, optional
        How the sets are called in error messages and in ``attrs["fusion_inputs"]``.

    Returns
    -------
    DataSet
        The first set's metadata, features ``(n, ..., sum of sizes along dimension, ...)``.

    Raises
    ------
    ValueError
        Different instances (naming the first mismatching instance and field), missing
        dimension, incompatible shapes, bad weights.

    >>> fused = fuse([load("a.nc"), load("b.nc")], weights=[1, 2])     # doctest: +SKIP
    """
    datasets = list(datasets)
    names = list(names) if names is not None else [f"data set {i + 1}"
                                                   for i in range(len(datasets))]
    if len(names) != len(datasets):
        raise ValueError(f"names has {len(names)} entries for {len(datasets)} data sets")
    w, orders, axis, attrs, _ = _plan(datasets, names, weights, dimension, bool(align))
    feats = _batch(datasets, orders, w, axis, 0, len(datasets[0]))
    ref = datasets[0]
    return DataSet(feats, ref.feature_dims, ref.filenames, chunk_nr=ref.chunk_nr,
                   label_nominal=ref.label_nominal, label_numeric=ref.label_numeric,
                   cv_folds=ref.cv_folds, partition=ref.partition, label_map=ref.label_map,
                   attrs=attrs)


def fuse_files(inputs: Sequence[PathLike], output: PathLike,
               weights: Optional[Sequence[float]] = None, dimension: str = "generated",
               align: bool = False, batch_size: int = 1024) -> Path:
    """:func:`fuse` from files to a file, reading and writing ``batch_size`` instances at a
    time (memory stays flat). The output appears under ``output`` only when complete.

    >>> fuse_files(["a.nc", "b.nc"], "fused.nc", weights=[1.0, 0.5])   # doctest: +SKIP
    """
    inputs = [Path(p) for p in inputs]
    if len(inputs) < 2:
        raise ValueError("fusion needs at least two input files")
    output = Path(output)
    if any(output.resolve() == p.resolve() for p in inputs):
        raise ValueError(f"the output {output} is also an input; choose another file name")
    datasets = [load(p, lazy=True) for p in inputs]
    try:
        names = [str(p) for p in inputs]
        w, orders, axis, attrs, shape = _plan(datasets, names, weights, dimension, bool(align))
        ref = datasets[0]
        with DataSetWriter(output, ref.feature_dims, shape, ref.n_folds, ref.label_map, attrs,
                           keep_partial=False) as writer:
            for start in range(0, len(ref), batch_size):
                stop = min(len(ref), start + batch_size)
                writer.append(_batch(datasets, orders, w, axis, start, stop),
                              **ref.instance_metadata(slice(start, stop)))
    finally:
        for ds in datasets:
            ds.close()
    return output


# ---------------------------------------------------------------------------- fuse chunks

def fuse_chunks(dataset: DataSet, dimension: str = "generated") -> DataSet:
    """One instance per file: the features of its chunks concatenated in chunk order.

    Every file must have the same number of chunks ``k``, numbered ``0..k-1``, and its chunks
    must agree on labels, folds and partition. Files come out sorted by name (as auDeep),
    with ``chunk_nr`` 0.

    Parameters
    ----------
    dataset : DataSet
    dimension : str
        Feature dimension to concatenate along; its size is multiplied by ``k``.

    Returns
    -------
    DataSet

    >>> one_per_file = fuse_chunks(load("chunked_reps.nc"))       # doctest: +SKIP
    """
    if not isinstance(dataset, DataSet):
        raise TypeError(f"dataset must be a DataSet, got {type(dataset).__name__}")
    if dimension not in dataset.feature_dims:
        raise ValueError(f"the data set has no feature dimension {dimension!r} (its dimensions "
                         f"are {dataset.feature_dims})")
    if len(dataset) == 0:
        raise ValueError("the data set has no instances")
    if np.any(dataset.chunk_nr == MISSING):
        i = int(np.flatnonzero(dataset.chunk_nr == MISSING)[0])
        raise ValueError(f"instance {i} ({dataset.filenames[i]!r}) has no chunk number")
    files, inverse = np.unique(dataset.filenames, return_inverse=True)
    inverse = inverse.ravel()
    order = np.lexsort((dataset.chunk_nr, inverse))
    counts = np.bincount(inverse, minlength=len(files))
    k = int(counts[0])
    if np.any(counts != k):
        bad = int(np.flatnonzero(counts != k)[0])
        raise ValueError(f"files have different numbers of chunks: {files[0]!r} has {k}, "
                         f"{files[bad]!r} has {int(counts[bad])}")
    groups = order.reshape(len(files), k)
    chunks = dataset.chunk_nr[groups]
    bad_rows = np.flatnonzero(np.any(chunks != np.arange(k), axis=1))
    if bad_rows.size:
        f = int(bad_rows[0])
        raise ValueError(f"file {files[f]!r} has chunks {chunks[f].tolist()}, expected "
                         f"0..{k - 1} once each")
    first = groups[:, 0]
    for name, col in (("nominal label", dataset.label_nominal),
                      ("numeric label", dataset.label_numeric), ("partition", dataset.partition),
                      ("cross-validation splits", dataset.cv_folds)):
        vals = col[groups]
        same = vals == vals[:, :1] if vals.dtype != object else \
            np.array([[v == row[0] for v in row] for row in vals], dtype=bool)
        if same.ndim == 3:
            same = same.all(axis=2)
        bad = np.flatnonzero(~same.all(axis=1))
        if bad.size:
            raise ValueError(f"the chunks of file {files[int(bad[0])]!r} have different "
                             f"{name}s; they cannot be fused into one instance")
    axis = dataset.feature_dims.index(dimension)
    feats = np.asarray(dataset.features, dtype=np.float32)[groups]  # (files, k, *shape)
    feats = np.concatenate([feats[:, c] for c in range(k)], axis=axis + 1)
    attrs = dict(dataset.attrs)
    spec = attrs.get(_WEIGHTS_ATTR)
    if spec is not None and spec.get("dimension") == dimension:
        attrs[_WEIGHTS_ATTR] = {"dimension": dimension,
                                "runs": _merge_runs([list(r) for r in spec["runs"]] * k)}
    meta = dataset.instance_metadata(first)
    meta.update(filenames=files.astype(object), chunk_nr=np.zeros(len(files), np.int64))
    return DataSet(feats, dataset.feature_dims, **meta, label_map=dataset.label_map,
                   attrs=attrs)
