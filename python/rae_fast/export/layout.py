"""auDeep's folder layout of exported tables (partitions x folds), both ways."""
from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import numpy as np

from ..dataset import MISSING, DataSet, Partition, Split
from .formats import (_FOLD_RE, _PARTITION_DIRS, _SUFFIX_FORMAT, FORMATS, PathLike,
                      _check_format)
from .readers import read_features
from .writers import _Schema, write_features

log = logging.getLogger(__name__)


def _layout(dataset: DataSet) -> Iterator[Tuple[Tuple[str, ...], np.ndarray]]:
    """(sub-directories, instance indices) of every file of auDeep's layout."""
    has_part = bool(np.any(dataset.partition != MISSING))
    has_cv = dataset.n_folds > 0
    n = len(dataset)
    placed = np.zeros(n, dtype=bool)
    parts = [(p.name.lower(), dataset.partition_indices(p)) for p in Partition] if has_part \
        else [(None, np.arange(n, dtype=np.int64))]
    for pname, pidx in parts:
        if pidx.size == 0:
            continue
        prefix = (pname,) if pname else ()
        if not has_cv:
            placed[pidx] = True
            yield prefix, pidx
            continue
        valid = dataset.cv_folds[pidx] == Split.VALID
        if np.any(valid.sum(axis=1) > 1):
            log.warning("%s: %d instances are in the validation split of several folds; they "
                        "are written once per fold", pname or "the data set",
                        int(np.sum(valid.sum(axis=1) > 1)))
        for f in range(dataset.n_folds):
            # every fold folder is written, even for an empty split, so that the number of
            # folds survives a round trip
            sel = pidx[valid[:, f]]
            placed[sel] = True
            yield prefix + (f"fold_{f + 1}",), sel
    lost = int(n - placed.sum())
    if lost:
        why = "have no partition" if has_part and not has_cv else \
            "are in no validation split" if not has_part else "have no partition or are in no " \
            "validation split"
        log.warning("%d instances %s and are not exported in auDeep's layout", lost, why)


def export(dataset: DataSet, basedir: PathLike, name: str, fmt: str = "csv",
           labels_last: bool = False, arff_filenames: str = "nominal") -> List[Path]:
    """Export ``dataset`` under ``basedir`` in auDeep's layout (see the module docstring).

    Parameters
    ----------
    dataset : DataSet
    basedir : str or Path
        Output folder (created when needed).
    name : str
        File name without extension (``rae-fast export`` uses the input file's stem).
    fmt : ``"csv"``, ``"arff"`` or ``"parquet"``
    labels_last : bool
    arff_filenames : ``"nominal"`` or ``"string"``

    Returns
    -------
    list of Path
        The files written, in layout order. Each file is written atomically; when one cannot
        be written (a full disk...), the files and folders this call made are removed again.

    >>> export(load("reps.nc"), "exported", "reps", fmt="csv")      # doctest: +SKIP
    [PosixPath('exported/fold_1/reps.csv'), ..., PosixPath('exported/fold_5/reps.csv')]
    """
    if not isinstance(dataset, DataSet):
        raise TypeError(f"dataset must be a DataSet, got {type(dataset).__name__}")
    fmt = _check_format(fmt)
    if not isinstance(name, str) or not name or "/" in name or "\\" in name or name in (".",
                                                                                        ".."):
        raise ValueError(f"name must be a plain file name without folders, got {name!r}")
    basedir = Path(basedir)
    if basedir.exists() and not basedir.is_dir():
        raise NotADirectoryError(f"output {basedir} exists and is not a folder")
    if len(dataset.feature_shape) > 1:
        log.info("features of shape %s are flattened to %d columns", dataset.feature_shape,
                 int(np.prod(dataset.feature_shape)))
    written = []
    n_placed = 0
    schema = _Schema(dataset, bool(labels_last))
    created: List[Path] = []         # folders this call makes, in the order they appear
    try:
        for sub, idx in _layout(dataset):
            path = basedir.joinpath(*sub, name + FORMATS[fmt])
            created += [d for d in reversed(path.parents) if not d.exists() and d not in created]
            part = dataset if (len(idx) == len(dataset) and
                               np.array_equal(idx, np.arange(len(idx)))) else dataset.subset(idx)
            write_features(part, path, fmt, labels_last=labels_last,
                           arff_filenames=arff_filenames, relation=name, _schema=schema)
            log.info("wrote %d instances to %s", len(idx), path)
            written.append(path)
            n_placed += len(idx)
    except BaseException:
        # all or nothing: an export missing some of its files would read back (import) as a
        # smaller data set without any warning
        for path in written:
            with contextlib.suppress(OSError):
                path.unlink()
        for folder in reversed(created):
            with contextlib.suppress(OSError):
                folder.rmdir()               # only if empty: never what was there before
        raise
    if n_placed == 0:
        raise ValueError("nothing to export: the data set has no instances that auDeep's "
                         "layout can place")
    return written


# =================================================================================== reading


# ------------------------------------------------------------------------------ layouts

def _data_files(folder: Path, name: Optional[str]) -> List[Path]:
    out = []
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.suffix.lower() in _SUFFIX_FORMAT and \
                (name is None or p.stem == name):
            out.append(p)
    return out


def _one_file(folder: Path, name: Optional[str], where: str) -> Optional[Path]:
    files = _data_files(folder, name)
    if len(files) > 1:
        raise ValueError(f"{where}: several feature files match ({', '.join(str(f) for f in files)}"
                         "); choose one with name=NAME")
    return files[0] if files else None


def _fold_dirs(folder: Path) -> List[Path]:
    dirs = [d for d in folder.iterdir() if d.is_dir() and _FOLD_RE.match(d.name)]
    dirs.sort(key=lambda d: int(_FOLD_RE.match(d.name).group(1)))
    numbers_ = [int(_FOLD_RE.match(d.name).group(1)) for d in dirs]
    if numbers_ and numbers_ != list(range(1, len(dirs) + 1)):
        missing = next(k for k in range(1, len(dirs) + 2) if k not in numbers_)
        raise ValueError(f"{folder}: fold folders must be fold_1..fold_N; fold_{missing} is "
                         "missing")
    return dirs


def _infer_name(basedir: Path) -> str:
    stems = set()
    for folder in [basedir] + [d for d in basedir.iterdir() if d.is_dir()]:
        stems.update(p.stem for p in _data_files(folder, None))
        for sub in (folder.iterdir() if folder != basedir else []):
            if sub.is_dir():
                stems.update(p.stem for p in _data_files(sub, None))
    if len(stems) != 1:
        raise ValueError(f"{basedir}: " + ("no feature files found" if not stems else
                         f"several data set names found ({', '.join(sorted(stems))}); choose "
                         "one with name=NAME"))
    return stems.pop()


def import_features(path: PathLike, name: Optional[str] = None, **columns) -> DataSet:
    """Read a feature file, or a folder in auDeep's export layout, into a :class:`DataSet`.

    Folder layouts (as written by :func:`export`): ``<name>.<ext>``; partition folders
    ``train/``, ``devel/``, ``test/``; fold folders ``fold_1/`` ... ``fold_N/`` (fold ``k``
    holds its validation split: the instances get ``cv_folds`` 1 in fold ``k``, 0 in the
    others); or partition folders containing fold folders. An instance (file name and chunk)
    found in several folds is merged into one instance that is in the validation split of
    each (its features must agree).

    Parameters
    ----------
    path : str or Path
        A ``.csv``/``.arff``/``.parquet`` file or a folder.
    name : str, optional
        File name without extension; default: the only one present.
    **columns
        ``filename_column``, ``chunk_nr_column``, ``label_nominal_column``,
        ``label_numeric_column``, ``feature_dim`` (see :func:`read_features`).

    Returns
    -------
    DataSet

    >>> ds = import_features("exported/", "reps")                  # doctest: +SKIP
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    if path.is_file():
        return read_features(path, **columns)
    if name is None:
        name = _infer_name(path)
    single = _one_file(path, name, str(path))
    subdirs = [d for d in path.iterdir() if d.is_dir()]
    part_dirs = [d for d in subdirs if d.name.lower() in _PARTITION_DIRS]
    fold_dirs = _fold_dirs(path)
    if single is not None:
        if part_dirs or fold_dirs:
            raise ValueError(f"{path} holds both {single.name} and partition/fold folders; "
                             "import one of them")
        return read_features(single, **columns)
    pieces: List[Tuple[DataSet, int, Optional[int], int]] = []  # (set, partition, fold, n_folds)
    if part_dirs and not fold_dirs:
        for d in sorted(part_dirs, key=lambda d: _PARTITION_DIRS[d.name.lower()]):
            part = int(_PARTITION_DIRS[d.name.lower()])
            f = _one_file(d, name, str(d))
            folds = _fold_dirs(d)
            if f is not None and folds:
                raise ValueError(f"{d} holds both {f.name} and fold folders")
            if f is not None:
                pieces.append((read_features(f, **columns), part, None, 0))
            for k, fd in enumerate(folds):
                ff = _one_file(fd, name, str(fd))
                if ff is None:
                    raise ValueError(f"{fd} has no file {name}.csv/.arff/.parquet")
                pieces.append((read_features(ff, _allow_empty=True, **columns), part, k,
                               len(folds)))
    elif fold_dirs and not part_dirs:
        for k, fd in enumerate(fold_dirs):
            ff = _one_file(fd, name, str(fd))
            if ff is None:
                raise ValueError(f"{fd} has no file {name}.csv/.arff/.parquet")
            pieces.append((read_features(ff, _allow_empty=True, **columns), MISSING, k,
                           len(fold_dirs)))
    else:
        raise ValueError(f"{path} holds neither {name}.csv/.arff/.parquet nor partition folders "
                         "(train, devel, test) nor fold folders (fold_1 ...)"
                         if not (part_dirs and fold_dirs) else
                         f"{path} mixes partition and fold folders at the same level")
    if not pieces:
        raise ValueError(f"{path}: no files named {name}.csv/.arff/.parquet were found")
    return _merge_pieces(pieces, path)


def _merge_pieces(pieces, where: Path) -> DataSet:
    n_folds = max(p[3] for p in pieces)
    if any(p[3] not in (0, n_folds) for p in pieces):
        raise ValueError(f"{where}: partitions have different numbers of folds")
    shapes = {p[0].feature_shape for p in pieces}
    if len(shapes) > 1:
        raise ValueError(f"{where}: the files have different numbers of features "
                         f"({sorted(s[0] for s in shapes)})")
    index: Dict[Tuple[str, int], int] = {}
    rows: List[Tuple[DataSet, int]] = []
    parts: List[int] = []
    cv: List[np.ndarray] = []
    for ds, part, fold, _ in pieces:
        for i in range(len(ds)):
            key = (ds.filenames[i], int(ds.chunk_nr[i]))
            j = index.get(key)
            if j is None:
                index[key] = len(rows)
                rows.append((ds, i))
                parts.append(part)
                row = np.full(n_folds, Split.TRAIN if n_folds else MISSING, dtype=np.int8)
                if fold is not None:
                    row[fold] = Split.VALID
                cv.append(row)
                continue
            ods, oi = rows[j]
            if parts[j] != part:
                raise ValueError(f"{where}: instance {key[0]!r} chunk {key[1]} appears in two "
                                 "partitions")
            if fold is None or cv[j][fold] == Split.VALID:
                raise ValueError(f"{where}: instance {key[0]!r} chunk {key[1]} appears twice in "
                                 "the same file or fold")
            if not np.array_equal(ods.features[oi], ds.features[i]) or \
                    ods.label_nominal[oi] != ds.label_nominal[i] or \
                    ods.label_numeric[oi] != ds.label_numeric[i]:
                raise ValueError(f"{where}: instance {key[0]!r} chunk {key[1]} has different "
                                 "features or labels in different folds")
            cv[j][fold] = Split.VALID
    if not rows:
        raise ValueError(f"{where}: the feature files hold no instances")
    feats = np.stack([ds.features[i] for ds, i in rows]).astype(np.float32)
    nominal = [ds.label_nominal[i] for ds, i in rows]
    numeric = np.array([ds.label_numeric[i] for ds, i in rows], dtype=np.int64)
    maps = [p[0].label_map for p in pieces if p[0].label_map]
    label_map = None
    if maps:
        merged: Dict[str, int] = {}
        for m in maps:
            for k, v in m.items():
                if merged.setdefault(k, v) != v:
                    raise ValueError(f"{where}: label {k!r} has different numeric labels in "
                                     "different files")
        label_map = merged
    elif any(v is not None for v in nominal) and np.all(numeric == MISSING):
        numeric = None  # derived from the nominal labels (sorted names)
    first = pieces[0][0]
    return DataSet(feats, first.feature_dims, [ds.filenames[i] for ds, i in rows],
                   chunk_nr=[ds.chunk_nr[i] for ds, i in rows], label_nominal=nominal,
                   label_numeric=numeric, label_map=label_map,
                   cv_folds=np.array(cv, dtype=np.int8).reshape(len(rows), n_folds),
                   partition=np.array(parts, dtype=np.int8))
