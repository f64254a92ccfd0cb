"""Writing netCDF4 data sets in auDeep's layout: the streaming :class:`DataSetWriter` (append,
resume, atomic rename, disk-full handling) and :func:`save`."""
from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

import numpy as np

from .._io import (WriteError, _no_space_errno as _no_space, check_space, disk_full, fsync_file,
                   partial_path, write_error)
from .._validation import check_int
from .._version import __version__
from ._schema import (_VARIABLES, _ATTR_COMPLETE, _ATTR_FEATURE_DIMS, _ATTR_HEADER, _ATTR_JSON,
                      _ATTR_LABEL_MAP, _ATTR_VERSION, _FOLD, _INSTANCE, MISSING, PathLike, _check_attrs, _check_feature_dims,
                      _check_feature_shape, _check_features_array, _check_label_map, _int_column,
                      _check_name, _labels, _labels_free, _str_column)
from .lazy import _NC_LOCK
from .model import DataSet

log = logging.getLogger(__name__)


# ------------------------------------------------------------------------------ writing

def _small_cache(var, chunk_bytes: int) -> None:
    """Instances are written once, in order: a cache of a few chunks keeps memory flat
    (netCDF's default per-variable chunk cache is tens of MiB)."""
    size = int(max(1 << 20, 4 * chunk_bytes))
    var.set_var_chunk_cache(size=size, nelems=61, preemption=1.0)


def _header_fingerprint(feature_dims, feature_shape, n_folds, label_map, attrs,
                        extra_columns=()) -> str:
    layout = {"feature_dims": list(feature_dims), "feature_shape": list(feature_shape),
              "n_folds": n_folds, "label_map": label_map, "attrs": attrs}
    if extra_columns:
        layout["extra_columns"] = list(extra_columns)
    blob = json.dumps(layout, sort_keys=True)
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

    A failed write raises :class:`rae_fast._io.WriteError` (an ``OSError`` naming ``path``;
    netCDF4's ``RuntimeError: NetCDF: HDF error`` on a full disk becomes ``ENOSPC``). Before
    every write the free space is checked: when it cannot hold the buffered instances,
    nothing is written, the partial file stays complete up to its recorded count and is kept
    for resuming (``keep_partial=True``; the error's note says so) or deleted. When a write
    into the file itself fails, HDF5 may have left it inconsistent: it is always deleted
    (its space freed first), never renamed into place nor kept for resuming.

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
                 label_map=None, attrs=None, resume: bool = False, *, keep_partial: bool = True,
                 extra_columns: Sequence[str] = ()):
        import netCDF4  # noqa: F401  (fail early if missing)

        self.path = Path(path)
        if self.path.is_dir():
            raise IsADirectoryError(f"output path {self.path} is a directory")
        self.partial = partial_path(self.path)
        self.feature_dims = _check_feature_dims(feature_dims)
        self.feature_shape = _check_feature_shape(feature_shape, len(self.feature_dims))
        self.n_folds = check_int(n_folds, "n_folds", 0)
        self.label_map = _check_label_map(label_map)
        self.attrs = _check_attrs(attrs)
        self.keep_partial = bool(keep_partial)
        self.extra_columns = tuple(_check_name(c, "extra column") for c in extra_columns)
        clash = set(self.extra_columns) & (set(_VARIABLES) | set(self.feature_dims))
        if clash or len(set(self.extra_columns)) != len(self.extra_columns):
            raise ValueError(f"extra_columns must be distinct and differ from the data model's "
                             f"variables and dims, got {list(self.extra_columns)}")
        self._fingerprint = _header_fingerprint(self.feature_dims, self.feature_shape,
                                                self.n_folds, self.label_map, self.attrs,
                                                self.extra_columns)
        self._buffer: List[Dict[str, np.ndarray]] = []
        self._buffered = 0
        self._buffered_bytes = 0
        self._nc = None
        self._closed = False
        self._failed = False     # a write failed: do not try again when aborting
        self._broken = False     # a write into the file failed: the file cannot be trusted
        self._chunk_bytes = 1 << 20
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
            self._chunk_bytes = 4 * int(np.prod(chunk, dtype=np.int64))
            _small_cache(fvar, self._chunk_bytes)
        self._nc = nc
        self._n_disk = int(nc.getncattr(_ATTR_COMPLETE))
        self.resumed = True
        log.info("resuming %s after %d instances", self.partial, self._n_disk)

    def _create(self) -> None:
        import netCDF4

        try:
            nc = netCDF4.Dataset(str(self.partial), "w", format="NETCDF4")
        except (RuntimeError, OSError) as exc:
            with contextlib.suppress(OSError):
                self.partial.unlink()
            # netCDF4 reports a full disk here as "PermissionError: [Errno 13]"
            if disk_full(self.partial):
                raise WriteError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.path)) \
                    from exc
            if isinstance(exc, OSError) and _no_space(exc) is None:
                raise                   # a real permission error, a missing folder...
            raise write_error(exc, self.path) from exc
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
            for name in self.extra_columns:
                nc.createVariable(name, "f8", (_INSTANCE,), chunksizes=(4096,))
            inst_bytes = 4 * int(np.prod(self.feature_shape, dtype=np.int64))
            per_chunk = int(max(1, min(256, (1 << 20) // max(1, inst_bytes))))
            # no fill: chunks are written once, completely (pre-filling would double the
            # writes); completeness is tracked by rae_fast_n_complete instead
            fvar = nc.createVariable("features", "f4", (_INSTANCE,) + self.feature_dims,
                                     fill_value=False,
                                     chunksizes=(per_chunk,) + self.feature_shape)
            self._chunk_bytes = per_chunk * inst_bytes
            _small_cache(fvar, self._chunk_bytes)
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
        except BaseException as exc:
            self._nc = nc
            self._discard()
            if isinstance(exc, (RuntimeError, OSError)):
                raise write_error(exc, self.path) from exc
            raise
        self._nc = nc
        self._n_disk = 0

    # appending ------------------------------------------------------------------------------
    @property
    def n_written(self) -> int:
        """Instances appended so far (including those resumed from the partial file)."""
        return self._n_disk + self._buffered

    def append(self, features, filenames, chunk_nr=None, label_nominal=None,
               label_numeric=None, cv_folds=None, partition=None, extra=None) -> None:
        """Append one instance (``features`` of ``feature_shape``) or a batch (leading axis).

        For one instance the metadata are scalars (``filenames="a.wav"``, ``chunk_nr=0``,
        ``cv_folds=[0, 1, ...]``); for a batch of ``k`` they have ``k`` entries. ``extra``
        gives the values of the writer's ``extra_columns`` (``{name: values}``). Missing
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
        extras = {}
        given = {} if extra is None else dict(extra)
        if set(given) != set(self.extra_columns):
            raise ValueError(f"extra must give exactly the columns {list(self.extra_columns)}, "
                             f"got {sorted(given)}")
        for name in self.extra_columns:
            col = np.asarray([given[name]] if single else given[name], dtype=np.float64).ravel()
            if col.shape != (k,):
                raise ValueError(f"extra[{name!r}] must have {k} values, got {col.shape}")
            extras[name] = col
        self._buffer.append(dict(features=feats, filename=names, chunk_nr=chunks,
                                 label_nominal=nominal, label_numeric=numeric, cv_folds=cv,
                                 partition=part, **extras))
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

    def _needed_bytes(self, cols: Dict[str, np.ndarray]) -> int:
        """Disk space a flush of ``cols`` may take: the features, the strings, per-instance
        metadata, two partly filled chunks (HDF5 allocates whole chunks) and 256 KiB for
        HDF5's own bookkeeping (B-tree nodes, heaps)."""
        n = len(cols["filename"])
        strings = sum(len(str(v)) for v in cols["filename"]) + \
            sum(len(str(v)) for v in cols["label_nominal"] if v is not None)
        return int(cols["features"].nbytes + 4 * strings + n * (64 + self.n_folds)
                   + 2 * self._chunk_bytes + (256 << 10))

    def _error(self, exc: BaseException, nbytes: int = 0) -> BaseException:
        """``exc`` (raised while writing) as a :class:`WriteError` naming ``path``, with a note
        on what is kept for resuming."""
        err = write_error(exc, self.path, nbytes)
        if isinstance(err, WriteError) and err.note is None and self.keep_partial \
                and not self._broken and self._n_disk:
            err.note = (f"the {self._n_disk} instances written before are kept in "
                        f"{self.partial}: free some space and run again to resume")
        return err

    def flush(self) -> None:
        """Write buffered instances to the partial file and make them durable.

        Raises :class:`~rae_fast._io.WriteError` when the disk has no room for them (nothing
        is written then) or a write fails (the file is then unusable: see the class doc)."""
        if not self._buffer or self._nc is None:
            return
        if self._broken:
            raise WriteError(errno.EIO, "an earlier write failed", str(self.path))
        cols = {key: np.concatenate([b[key] for b in self._buffer]) for key in self._buffer[0]}
        a, b = self._n_disk, self._n_disk + self._buffered
        nc = self._nc
        labels = cols["label_nominal"].copy()
        labels[np.equal(labels, None)] = ""  # xarray's encoding of a missing string
        needed = self._needed_bytes(cols)
        try:
            check_space(self.partial, needed, self.path)
        except WriteError as exc:
            self._failed = True
            raise self._error(exc) from None
        try:
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
                for name in self.extra_columns:
                    nc.variables[name][a:b] = cols[name]
                nc.variables["features"][a:b] = cols["features"]
                nc.setncattr(_ATTR_COMPLETE, np.int64(b))
                nc.sync()
        except (RuntimeError, OSError) as exc:
            self._failed = self._broken = True
            raise self._error(exc, needed) from exc
        self._n_disk = b
        self._buffer.clear()
        self._buffered = 0
        self._buffered_bytes = 0

    # finishing ------------------------------------------------------------------------------
    def close(self, extra_attrs: Optional[Mapping[str, Any]] = None) -> Path:
        """Write what is buffered, close the file and rename it to ``path``; returns ``path``.

        ``extra_attrs`` are global attributes known only at the end (e.g. skipped files);
        they are stored like ``attrs``. When anything fails, the file is not renamed: it is
        kept as ``<path>.partial`` for resuming (``keep_partial`` and a disk that was found too
        full before writing) or deleted, and the first error is raised.
        """
        if self._closed:
            return self.path
        extra = _check_attrs(extra_attrs)
        try:
            self.flush()
            if extra:
                blob = {k: v if isinstance(v, str) else json.dumps(v, sort_keys=True)
                        for k, v in extra.items()}
                nbytes = sum(len(k) + len(v) for k, v in blob.items()) + (256 << 10)
                try:
                    check_space(self.partial, nbytes, self.path)
                except WriteError as exc:
                    self._failed = True
                    raise self._error(exc) from None
                try:
                    with _NC_LOCK:
                        names = set(json.loads(self._nc.getncattr(_ATTR_JSON)))
                        for key, value in extra.items():
                            self._nc.setncattr(key, blob[key])
                            if isinstance(value, str):
                                names.discard(key)
                            else:
                                names.add(key)
                        self._nc.setncattr(_ATTR_JSON, json.dumps(sorted(names)))
                except (RuntimeError, OSError) as exc:
                    self._failed = self._broken = True
                    raise self._error(exc, nbytes) from exc
            try:
                with _NC_LOCK:
                    self._nc.close()
                self._nc = None
                fsync_file(self.partial)
            except (RuntimeError, OSError) as exc:
                self._failed = self._broken = True
                raise self._error(exc) from exc
            os.replace(self.partial, self.path)
        except BaseException:
            self._finish(self.keep_partial)
            raise
        self._closed = True
        return self.path

    def abort(self, keep_partial: Optional[bool] = None) -> None:
        """Stop without completing: keep ``<path>.partial`` for resuming (after writing the
        buffer) or delete it. ``path`` is not touched. A file that a failed write may have
        left inconsistent is deleted in any case, as is an empty one after a failed write."""
        if self._closed:
            return
        keep = self.keep_partial if keep_partial is None else bool(keep_partial)
        try:
            if keep and not self._failed:
                self.flush()
        except WriteError as exc:
            log.info("could not write the last instances to %s: %s", self.partial, exc)
        except Exception as exc:  # noqa: BLE001 - keep what is on disk, report, go on
            log.warning("could not write the last instances to %s: %s", self.partial, exc)
        finally:
            self._finish(keep)

    def _finish(self, keep: bool) -> None:
        """Close the file after a failure or an abort; keep it as ``<path>.partial`` or not.
        Never raises (the caller re-raises the first error)."""
        self._closed = True
        if self._broken:
            self._discard()
            return
        if self._nc is not None:
            try:
                with _NC_LOCK:
                    self._nc.close()
            except (RuntimeError, OSError) as exc:
                log.info("closing %s failed (%s); deleting it", self.partial, exc)
                self._broken = True
                self._discard()
                return
            finally:
                self._nc = None
        if not keep or (self._failed and not self._n_disk):
            with contextlib.suppress(OSError):
                self.partial.unlink()

    def _discard(self) -> None:
        """Delete a partial file that cannot be trusted. Its space is freed first (truncated
        while HDF5 still holds it open), so that closing -- which writes HDF5's cached,
        unwritten data -- can succeed on a full disk; if closing fails anyway, the handle is
        left to the interpreter. Never raises."""
        self._closed = True
        with contextlib.suppress(OSError):
            os.truncate(self.partial, 0)
        if self._nc is not None:
            try:
                with _NC_LOCK:
                    self._nc.close()
            except Exception as exc:  # noqa: BLE001 - the file is being deleted anyway
                log.debug("could not close %s after a failed write: %s", self.partial, exc)
                with contextlib.suppress(OSError):
                    os.truncate(self.partial, 0)     # what the failed close wrote
            self._nc = None
        with contextlib.suppress(OSError):
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




def save(dataset: DataSet, path: PathLike, extra: Optional[Mapping[str, Any]] = None) -> None:
    """Write ``dataset`` to ``path`` (netCDF4, auDeep layout) atomically.

    The file appears under ``path`` only when complete; on failure nothing is left behind.
    Lazy features are copied batch by batch. ``extra``: per-instance columns to keep
    (``{name: (n,) values}``, e.g. :func:`~rae_fast.dataset.read_extra_columns` of the file the
    data set came from, such as the normalisation offsets ``preprocess`` stores).

    >>> save(ds, "features.nc")          # doctest: +SKIP
    >>> load("features.nc").equals(ds)   # doctest: +SKIP
    True
    """
    if not isinstance(dataset, DataSet):
        raise TypeError(f"dataset must be a DataSet, got {type(dataset).__name__}")
    n = len(dataset)
    cols = {str(k): np.asarray(v) for k, v in (extra or {}).items()}
    for k, v in cols.items():
        if v.shape[:1] != (n,):
            raise ValueError(f"extra[{k!r}] must have one value per instance ({n}), got shape "
                             f"{v.shape}")
    per_batch = max(1, (8 << 20) // max(1, 4 * int(np.prod(dataset.feature_shape, dtype=np.int64))))
    with DataSetWriter(path, dataset.feature_dims, dataset.feature_shape, dataset.n_folds,
                       dataset.label_map, dataset.attrs, keep_partial=False,
                       extra_columns=tuple(cols)) as w:
        for start, stop, x in dataset.iter_batches(per_batch):
            w.append(x, **dataset.instance_metadata(slice(start, stop)),
                     extra={k: v[start:stop] for k, v in cols.items()} if cols else None)
        if w.n_written != n:  # pragma: no cover - would be a bug in iter_batches
            raise RuntimeError(f"wrote {w.n_written} of {n} instances")
