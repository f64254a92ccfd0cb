"""The in-memory data model: :class:`DataSet` and :func:`check_integrity`."""
from __future__ import annotations

from typing import Any, Dict, Iterator, List, Tuple

import numpy as np

from .._validation import check_int
from ._schema import (MISSING, partition_list, Split, _check_attrs, _check_feature_dims,
                      _check_features_array, _index_array, _int_column, _labels, _str_column)
from .lazy import LazyFeatures

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
    def instance_metadata(self, indices=None) -> Dict[str, np.ndarray]:
        """The per-instance columns of the selected instances, as arrays of their own.

        Keys ``filenames``, ``chunk_nr``, ``label_nominal``, ``label_numeric``, ``cv_folds``,
        ``partition``: exactly the keyword arguments of :meth:`DataSetWriter.append
        <rae_fast.dataset.DataSetWriter.append>` (and of :class:`DataSet` besides ``features``),
        so that instances are copied with ``writer.append(x, **ds.instance_metadata(a_slice))``.
        ``indices``: a slice, int array (any order, repeats allowed) or boolean mask; ``None``
        selects every instance.

        >>> ds.instance_metadata(slice(0, 2))["filenames"].tolist()   # doctest: +SKIP
        ['f0.wav', 'f1.wav']
        """
        idx = slice(None) if indices is None else (
            indices if isinstance(indices, slice) else _index_array(indices, len(self)))
        return dict(filenames=self.filenames[idx].copy(), chunk_nr=self.chunk_nr[idx].copy(),
                    label_nominal=self.label_nominal[idx].copy(),
                    label_numeric=self.label_numeric[idx].copy(),
                    cv_folds=self.cv_folds[idx].copy(), partition=self.partition[idx].copy())

    def _meta(self, idx=None) -> Dict[str, Any]:
        return dict(self.instance_metadata(idx), label_map=self.label_map, attrs=dict(self.attrs))

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
        fold = check_int(fold, "fold")
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
        values = [int(p) for p in partition_list(parts, "partition")]
        return np.flatnonzero(np.isin(self.partition, values)).astype(np.int64)

    def iter_batches(self, batch_size: int, start: int = 0
                     ) -> Iterator[Tuple[int, int, np.ndarray]]:
        """Yield ``(start, stop, features[start:stop])`` as float32 arrays, in order.

        Works the same for in-memory and lazy features (reads one batch at a time). ``start``
        skips the first instances (e.g. those a resumed writer already holds).

        >>> for start, stop, x in ds.iter_batches(256):   # doctest: +SKIP
        ...     pass
        """
        batch_size = check_int(batch_size, "batch_size", 1)
        n = len(self)
        first = check_int(start, "start", 0)
        for a in range(first, n, int(batch_size)):
            b = min(n, a + int(batch_size))
            yield a, b, np.asarray(self.features[a:b], dtype=np.float32)

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


