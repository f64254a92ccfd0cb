"""Export data sets to CSV, ARFF or Parquet in auDeep's directory layout, and import them back.

Every row is one instance: ``filename``, ``chunk_nr``, then ``label_nominal`` and
``label_numeric`` (left out when the data set has no labels at all), then the flattened
features ``feature_0 .. feature_{D-1}`` (row-major, as ``features.reshape(n, -1)``); with
``labels_last`` the two label columns come after the features. Missing values are empty in
CSV, ``?`` in ARFF and null in Parquet. Floats are written with 9 significant digits, which
reproduces every float32 exactly.

Layout under the output folder (auDeep's, so that auDeep users find their files):

- no folds, no partitions: ``<name>.<ext>``;
- partitions only: ``train/<name>.<ext>``, ``devel/...``, ``test/...`` (non-empty ones);
- folds only: ``fold_1/<name>.<ext>`` ... -- fold ``k`` holds its *validation* split;
- both: ``train/fold_1/<name>.<ext>`` ... (the validation split of each fold within each
  partition; auDeep wrote the whole data set's split there, we restrict it to the partition).

Instances that the layout cannot place (no partition while others have one; in no
validation split) are reported in a warning, as are overlapping folds (such instances are
written once per fold). :func:`import_features` reads any of these layouts (or one file) back
into a :class:`~rae_fast.dataset.DataSet`, merging the copies of an instance that appears in
several folds.

ARFF: the file name attribute is declared nominal (the list of all file names) by default, so
that standard readers such as ``scipy.io.arff`` (which cannot read STRING attributes) parse
the files; ``arff_filenames="string"`` writes auDeep's ``STRING`` type instead. Values are
quoted with single quotes and backslash escapes where needed (scipy cannot read quotes inside
values; Weka and liac-arff can).

>>> export(ds, "out/", "reps", fmt="arff")          # doctest: +SKIP
[PosixPath('out/fold_1/reps.arff'), ...]
>>> import_features("out/", "reps").equals(ds)      # doctest: +SKIP
"""
from __future__ import annotations

import csv
import io
import json
import logging
import os
import re
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from ._io import atomic_path
from .dataset import MISSING, DataSet, Partition, Split

PathLike = Union[str, "os.PathLike[str]"]

__all__ = ["FORMATS", "export", "write_features", "read_features", "import_features"]

log = logging.getLogger(__name__)

#: Export formats and their file extensions.
FORMATS = {"csv": ".csv", "arff": ".arff", "parquet": ".parquet"}
_SUFFIX_FORMAT = {v: k for k, v in FORMATS.items()}
_FOLD_RE = re.compile(r"^fold_(\d+)$")
_PARTITION_DIRS = {p.name.lower(): p for p in Partition}
_BATCH = 512


def _check_format(fmt) -> str:
    if not isinstance(fmt, str) or fmt.lower() not in FORMATS:
        raise ValueError(f"format must be one of {sorted(FORMATS)}, got {fmt!r}")
    return fmt.lower()


def _format_of(path: Path, fmt: Optional[str]) -> str:
    if fmt is not None:
        return _check_format(fmt)
    suffix = path.suffix.lower()
    if suffix not in _SUFFIX_FORMAT:
        raise ValueError(f"cannot tell the format of {path} from its extension (expected one "
                         f"of {sorted(_SUFFIX_FORMAT)}); pass the format explicitly")
    return _SUFFIX_FORMAT[suffix]


# =================================================================================== writing

class _Schema:
    """Columns of an export, fixed by the *whole* data set so that every file of one export
    has the same header (Weka needs identical ARFF headers for training and test files)."""

    def __init__(self, ds: DataSet, labels_last: bool):
        self.n_feat = int(np.prod(ds.feature_shape, dtype=np.int64))
        self.has_nom = any(v is not None for v in ds.label_nominal)
        self.has_num = bool(np.any(ds.label_numeric != MISSING))
        labels = (["label_nominal"] if self.has_nom else []) + \
            (["label_numeric"] if self.has_num else [])
        feats = [f"feature_{j}" for j in range(self.n_feat)]
        self.labels_last = labels_last
        self.columns = ["filename", "chunk_nr"] + (feats + labels if labels_last
                                                   else labels + feats)
        self.classes = (sorted(ds.label_map) if ds.label_map else
                        sorted({v for v in ds.label_nominal if v is not None}))
        self.filenames = list(dict.fromkeys(str(f) for f in ds.filenames))

    def row(self, head: List[str], labels: List[str], feats: str) -> str:
        parts = head + ([feats] + labels if self.labels_last else labels + [feats])
        return ",".join(parts)


def _meta_cells(ds: DataSet, i: int, schema: _Schema, missing: str,
                quote) -> Tuple[List[str], List[str]]:
    q = quote
    head = [q(ds.filenames[i]), missing if ds.chunk_nr[i] == MISSING else str(int(ds.chunk_nr[i]))]
    labels = []
    if schema.has_nom:
        v = ds.label_nominal[i]
        labels.append(missing if v is None else q(v))
    if schema.has_num:
        v = int(ds.label_numeric[i])
        labels.append(missing if v == MISSING else str(v))
    return head, labels


def _float_rows(x: np.ndarray) -> List[str]:
    """Rows of a float32 block as comma-joined ``%.9g`` text (exact for float32)."""
    flat = x.reshape(x.shape[0], -1)
    fmt = ",".join(["%.9g"] * flat.shape[1])
    return [fmt % tuple(row) for row in flat.tolist()]


def _csv_cell(value: str) -> str:
    """One CSV field as the ``csv`` module writes it (quoted only when needed)."""
    if value == "" or not any(c in value for c in ',"\n\r') and value == value.strip():
        return value
    return '"' + value.replace('"', '""') + '"'


def _write_csv(ds: DataSet, tmp: Path, schema: _Schema) -> None:
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write(",".join(_csv_cell(c) for c in schema.columns) + "\n")
        for start, stop, x in ds.iter_batches(_BATCH):
            feats = _float_rows(x)
            lines = [schema.row(*_meta_cells(ds, i, schema, "", _csv_cell), feats[k])
                     for k, i in enumerate(range(start, stop))]
            fh.write("\n".join(lines) + "\n")


_ARFF_PLAIN = re.compile(r"^[A-Za-z0-9_.\-/+:]+$")


def _arff_quote(value: str) -> str:
    """Quote an ARFF value when needed (single quotes, backslash escapes)."""
    if value and _ARFF_PLAIN.match(value) and value != "?":
        return value
    esc = (value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")
           .replace("\r", "\\r").replace("\t", "\\t"))
    return f"'{esc}'"


def _write_arff(ds: DataSet, tmp: Path, schema: _Schema, arff_filenames: str,
                relation: str) -> None:
    types = {"chunk_nr": "INTEGER", "label_numeric": "INTEGER"}
    if arff_filenames == "string" or not schema.filenames:
        types["filename"] = "STRING"
    else:
        types["filename"] = "{" + ",".join(_arff_quote(f) for f in schema.filenames) + "}"
    if schema.has_nom:
        types["label_nominal"] = "{" + ",".join(_arff_quote(c) for c in schema.classes) + "}"
    with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(f"% exported by rae_fast: {len(ds)} instances\n")
        fh.write(f"@RELATION {_arff_quote(relation)}\n\n")
        for c in schema.columns:
            fh.write(f"@ATTRIBUTE {c} {types.get(c, 'REAL')}\n")
        fh.write("\n@DATA\n")
        for start, stop, x in ds.iter_batches(_BATCH):
            feats = _float_rows(x)
            lines = [schema.row(*_meta_cells(ds, i, schema, "?", _arff_quote), feats[k])
                     for k, i in enumerate(range(start, stop))]
            fh.write("\n".join(lines) + "\n")


def _write_parquet(ds: DataSet, tmp: Path, schema: _Schema) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("Parquet export needs pyarrow: pip install pyarrow") from None
    cols, has_nom, has_num, n_feat = schema.columns, schema.has_nom, schema.has_num, \
        schema.n_feat
    fields = []
    for c in cols:
        if c in ("filename", "label_nominal"):
            fields.append(pa.field(c, pa.string(), nullable=c != "filename"))
        elif c in ("chunk_nr", "label_numeric"):
            fields.append(pa.field(c, pa.int64()))
        else:
            fields.append(pa.field(c, pa.float32(), nullable=False))
    meta = {b"rae_fast.label_map": json.dumps(ds.label_map).encode()}
    schema = pa.schema(fields, metadata=meta)
    with pq.ParquetWriter(str(tmp), schema) as writer:
        for start, stop, x in ds.iter_batches(_BATCH):
            flat = x.reshape(x.shape[0], -1)
            data: Dict[str, Any] = {
                "filename": pa.array([str(f) for f in ds.filenames[start:stop]], pa.string()),
                "chunk_nr": pa.array(ds.chunk_nr[start:stop], pa.int64(),
                                     mask=ds.chunk_nr[start:stop] == MISSING),
            }
            if has_nom:
                data["label_nominal"] = pa.array(list(ds.label_nominal[start:stop]), pa.string())
            if has_num:
                num = ds.label_numeric[start:stop]
                data["label_numeric"] = pa.array(num, pa.int64(), mask=num == MISSING)
            for j in range(n_feat):
                data[f"feature_{j}"] = pa.array(flat[:, j], pa.float32())
            writer.write_table(pa.Table.from_pydict({c: data[c] for c in cols}, schema=schema))


def write_features(dataset: DataSet, path: PathLike, fmt: Optional[str] = None,
                   labels_last: bool = False, arff_filenames: str = "nominal",
                   relation: Optional[str] = None, *, _schema: Optional[_Schema] = None) -> Path:
    """Write one data set as one CSV / ARFF / Parquet file (atomically).

    Parameters
    ----------
    dataset : DataSet
        Features of any shape (flattened row-major into ``feature_0..``).
    path : str or Path
        Output file; written under a temporary name and renamed when complete.
    fmt : ``"csv"``, ``"arff"``, ``"parquet"`` or None
        Default: from the extension of ``path``.
    labels_last : bool
        Put ``label_nominal, label_numeric`` after the features instead of before.
    arff_filenames : ``"nominal"`` or ``"string"``
        ARFF type of the ``filename`` attribute (see the module docstring).
    relation : str, optional
        ARFF relation name (default: the file's stem).

    Returns
    -------
    Path

    >>> write_features(ds, "reps.csv")                # doctest: +SKIP
    """
    if not isinstance(dataset, DataSet):
        raise TypeError(f"dataset must be a DataSet, got {type(dataset).__name__}")
    path = Path(path)
    fmt = _format_of(path, fmt)
    if arff_filenames not in ("nominal", "string"):
        raise ValueError(f"arff_filenames must be 'nominal' or 'string', got {arff_filenames!r}")
    if not isinstance(labels_last, (bool, np.bool_)):
        raise TypeError(f"labels_last must be True or False, got {labels_last!r}")
    schema = _schema or _Schema(dataset, bool(labels_last))
    with atomic_path(path) as tmp:
        if fmt == "csv":
            _write_csv(dataset, tmp, schema)
        elif fmt == "arff":
            _write_arff(dataset, tmp, schema, arff_filenames, relation or path.stem or "rae_fast")
        else:
            _write_parquet(dataset, tmp, schema)
    return path


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
        The files written, in layout order. Each file is written atomically.

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
    for sub, idx in _layout(dataset):
        path = basedir.joinpath(*sub, name + FORMATS[fmt])
        part = dataset if (len(idx) == len(dataset) and np.array_equal(idx, np.arange(len(idx)))) \
            else dataset.subset(idx)
        write_features(part, path, fmt, labels_last=labels_last, arff_filenames=arff_filenames,
                       relation=name, _schema=schema)
        log.info("wrote %d instances to %s", len(idx), path)
        written.append(path)
        n_placed += len(idx)
    if n_placed == 0:
        raise ValueError("nothing to export: the data set has no instances that auDeep's "
                         "layout can place")
    return written


# =================================================================================== reading

def _open_text(path: Path) -> str:
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except IsADirectoryError:
        raise IsADirectoryError(f"{path} is a folder, expected a feature file") from None
    if b"\x00" in raw[:65536]:
        raise ValueError(f"{path} is not a text file (it contains binary data)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _read_csv_rows(path: Path) -> Tuple[List[str], List[List[str]], int]:
    text = _open_text(path)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ValueError(f"{path} is empty (no header line)") from None
    except csv.Error as exc:
        raise ValueError(f"{path}: line 1 is not valid CSV ({exc})") from None
    header = [h.strip() for h in header]
    rows = []
    try:
        for row in reader:
            if not row:
                continue
            if len(row) != len(header):
                raise ValueError(f"{path}: line {reader.line_num} has {len(row)} fields, the "
                                 f"header has {len(header)}")
            rows.append(row)
    except csv.Error as exc:
        raise ValueError(f"{path}: line {reader.line_num} is not valid CSV ({exc})") from None
    return header, rows, 2


def _arff_split(line: str, path: Path, lineno: int) -> List[Optional[str]]:
    """Split one ARFF data line into values (None for ``?``)."""
    if "'" not in line and '"' not in line:
        return [None if v.strip() == "?" else v.strip() for v in line.split(",")]
    out: List[Optional[str]] = []
    i, n = 0, len(line)
    while i <= n:
        while i < n and line[i] in " \t":
            i += 1
        if i < n and line[i] in "'\"":
            q = line[i]
            i += 1
            buf = []
            while True:
                if i >= n:
                    raise ValueError(f"{path}: line {lineno} has an unterminated quote")
                c = line[i]
                if c == "\\" and i + 1 < n:
                    nxt = line[i + 1]
                    buf.append({"n": "\n", "r": "\r", "t": "\t"}.get(nxt, nxt))
                    i += 2
                    continue
                if c == q:
                    i += 1
                    break
                buf.append(c)
                i += 1
            out.append("".join(buf))
            while i < n and line[i] in " \t":
                i += 1
            if i < n and line[i] != ",":
                raise ValueError(f"{path}: line {lineno}: unexpected text after a quoted value")
        else:
            j = line.find(",", i)
            j = n if j < 0 else j
            v = line[i:j].strip()
            out.append(None if v == "?" else v)
            i = j
        i += 1
    return out


def _read_arff_rows(path: Path) -> Tuple[List[str], List[List[Optional[str]]], int]:
    text = _open_text(path)
    header: List[str] = []
    rows: List[List[Optional[str]]] = []
    in_data = False
    first_data = 0
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("%"):
            continue
        if not in_data:
            low = line.lower()
            if low.startswith("@relation"):
                continue
            if low.startswith("@attribute"):
                m = re.match(r"@attribute\s+('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|\S+)\s+(.+)$",
                             line, re.IGNORECASE)
                if not m:
                    raise ValueError(f"{path}: line {lineno}: malformed @ATTRIBUTE declaration")
                name = m.group(1)
                if name[0] in "'\"":
                    name = _arff_split(name, path, lineno)[0] or ""
                kind = m.group(2).strip()
                if kind.lower().startswith("date") or kind.lower().startswith("relational"):
                    raise ValueError(f"{path}: line {lineno}: attribute {name!r} has type "
                                     f"{kind.split()[0]}, which is not supported")
                header.append(name)
                continue
            if low.startswith("@data"):
                if not header:
                    raise ValueError(f"{path} declares no @ATTRIBUTE before @DATA (is this an "
                                     "ARFF file?)")
                in_data = True
                first_data = lineno + 1
                continue
            raise ValueError(f"{path}: line {lineno} is neither a comment nor an ARFF "
                             f"declaration: {line[:40]!r} (is this an ARFF file?)")
        if line.startswith("{"):
            raise ValueError(f"{path}: line {lineno}: sparse ARFF data are not supported")
        vals = _arff_split(line, path, lineno)
        if len(vals) != len(header):
            raise ValueError(f"{path}: line {lineno} has {len(vals)} values, but "
                             f"{len(header)} attributes are declared")
        rows.append(vals)
    if not header:
        raise ValueError(f"{path} declares no @ATTRIBUTE (is this an ARFF file?)")
    if not in_data:
        raise ValueError(f"{path} has no @DATA section")
    return header, rows, first_data


def _read_parquet_columns(path: Path):
    try:
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("Parquet import needs pyarrow: pip install pyarrow") from None
    try:
        table = pq.read_table(str(path))
    except Exception as exc:  # pyarrow raises its own error types
        raise ValueError(f"{path} is not a readable Parquet file ({exc})") from None
    label_map = None
    meta = table.schema.metadata or {}
    if b"rae_fast.label_map" in meta:
        try:
            label_map = json.loads(meta[b"rae_fast.label_map"])
        except ValueError:
            label_map = None
    return table, label_map


def _to_int_column(values: Sequence[Optional[str]], column: str, path: Path,
                   first_line: int) -> np.ndarray:
    out = np.empty(len(values), dtype=np.int64)
    for i, v in enumerate(values):
        if v is None or (isinstance(v, str) and v.strip() in ("", "?")):
            out[i] = MISSING
            continue
        try:
            f = float(v)
        except (TypeError, ValueError):
            raise ValueError(f"{path}: line {first_line + i}: column {column!r} must hold whole "
                             f"numbers, got {v!r}") from None
        if not np.isfinite(f) or f != int(f) or f < 0:
            raise ValueError(f"{path}: line {first_line + i}: column {column!r} must hold whole "
                             f"numbers >= 0, got {v!r}")
        out[i] = int(f)
    return out


def _features_from_cells(cells: List[List[Optional[str]]], names: List[str], path: Path,
                         first_line: int) -> np.ndarray:
    try:
        arr = np.array(cells, dtype=np.float32)
    except (TypeError, ValueError):
        for i, row in enumerate(cells):
            for j, v in enumerate(row):
                try:
                    float(v)  # type: ignore[arg-type]
                except (TypeError, ValueError):
                    what = "is missing" if v in (None, "") else f"is not a number: {v!r}"
                    raise ValueError(f"{path}: line {first_line + i}: feature column "
                                     f"{names[j]!r} {what} (declare metadata columns with the "
                                     "--*-column options, or remove the column)") from None
        raise
    if arr.size and not np.isfinite(arr).all():
        i, j = (int(v) for v in np.argwhere(~np.isfinite(arr))[0])
        what = "is missing" if cells[i][j] in (None, "") else "is NaN or infinite"
        raise ValueError(f"{path}: line {first_line + i}: feature column {names[j]!r} {what}")
    return arr


def _pick(header: List[str], wanted: Optional[str], default: str, what: str,
          path: Path) -> Optional[int]:
    name = default if wanted is None else wanted
    if name in header:
        if header.count(name) > 1:
            raise ValueError(f"{path}: column {name!r} occurs twice")
        return header.index(name)
    if wanted is not None:
        raise ValueError(f"{path}: the {what} column {wanted!r} does not exist (columns: "
                         f"{', '.join(header[:8])}{', ...' if len(header) > 8 else ''})")
    return None


def _label_map_from_pairs(nominal, numeric, path: Path) -> Optional[Dict[str, int]]:
    fwd: Dict[str, int] = {}
    back: Dict[int, str] = {}
    for i, (a, b) in enumerate(zip(nominal, numeric)):
        if a is None or b == MISSING:
            continue
        if fwd.setdefault(a, int(b)) != b:
            raise ValueError(f"{path}: label {a!r} has numeric labels {fwd[a]} and {int(b)} "
                             f"(row {i + 1})")
        if back.setdefault(int(b), a) != a:
            raise ValueError(f"{path}: numeric label {int(b)} stands for both {back[int(b)]!r} "
                             f"and {a!r} (row {i + 1})")
    return fwd or None


def read_features(path: PathLike, fmt: Optional[str] = None, *,
                  filename_column: Optional[str] = None, chunk_nr_column: Optional[str] = None,
                  label_nominal_column: Optional[str] = None,
                  label_numeric_column: Optional[str] = None,
                  feature_dim: str = "generated", _allow_empty: bool = False) -> DataSet:
    """Read one CSV / ARFF / Parquet feature file into a :class:`DataSet`.

    Every column that is not a metadata column is a feature (it must be numeric). Metadata
    columns default to ``filename``, ``chunk_nr``, ``label_nominal``, ``label_numeric`` and
    are optional: without a file name column the instances are called
    ``<file stem>_<row>`` (with a warning); without labels the set is unlabelled. A column
    named explicitly must exist.

    Parameters
    ----------
    path : str or Path
    fmt : ``"csv"``, ``"arff"``, ``"parquet"`` or None (from the extension)
    filename_column, chunk_nr_column, label_nominal_column, label_numeric_column : str, optional
    feature_dim : str
        Name of the feature dimension of the result.

    Returns
    -------
    DataSet
        Features float32 ``(n, n_feature_columns)``; label map from the (nominal, numeric)
        pairs when both are present, else sorted names (as auDeep).

    Raises
    ------
    ValueError
        Not a text / ARFF / Parquet file, ragged rows, a non-numeric or missing feature value
        (naming the line and column), inconsistent labels.

    >>> ds = read_features("features.csv", label_nominal_column="class")   # doctest: +SKIP
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"feature file {path} does not exist")
    fmt = _format_of(path, fmt)
    parquet_map = None
    if fmt == "parquet":
        table, parquet_map = _read_parquet_columns(path)
        header = list(table.column_names)
        columns: List[List[Any]] = [table.column(c).to_pylist() for c in header]
        first_line = 1
        n = table.num_rows
    else:
        if fmt == "csv":
            header, rows, first_line = _read_csv_rows(path)
        else:
            header, rows, first_line = _read_arff_rows(path)
        n = len(rows)
        columns = [list(c) for c in zip(*rows)] if rows else [[] for _ in header]
    if n == 0 and not _allow_empty:
        raise ValueError(f"{path} holds no data rows")
    i_file = _pick(header, filename_column, "filename", "file name", path)
    i_chunk = _pick(header, chunk_nr_column, "chunk_nr", "chunk number", path)
    i_nom = _pick(header, label_nominal_column, "label_nominal", "nominal label", path)
    i_num = _pick(header, label_numeric_column, "label_numeric", "numeric label", path)
    meta = {i for i in (i_file, i_chunk, i_nom, i_num) if i is not None}
    feat_idx = [j for j in range(len(header)) if j not in meta]
    if not feat_idx:
        raise ValueError(f"{path} has no feature columns")
    if fmt == "parquet":
        try:
            feats = np.column_stack([np.asarray(columns[j], dtype=np.float32) for j in feat_idx]
                                    ).reshape(n, len(feat_idx))
        except (TypeError, ValueError):
            bad = next(j for j in feat_idx if any(v is None or isinstance(v, str)
                                                  for v in columns[j]))
            raise ValueError(f"{path}: feature column {header[bad]!r} is not numeric or has "
                             "missing values") from None
        if not np.isfinite(feats).all():
            i, j = (int(v) for v in np.argwhere(~np.isfinite(feats))[0])
            raise ValueError(f"{path}: row {i + 1}: feature column {header[feat_idx[j]]!r} is "
                             "NaN or infinite")
    else:
        cells = [[row[j] for j in feat_idx] for row in rows]
        feats = _features_from_cells(cells, [header[j] for j in feat_idx], path, first_line)
        feats = feats.reshape(n, len(feat_idx))
    if i_file is None:
        log.warning("%s has no file name column; instances are named %s_<row>", path, path.stem)
        filenames = [f"{path.stem}_{i}" for i in range(n)]
    else:
        filenames = []
        for i, v in enumerate(columns[i_file]):
            if v is None or str(v) == "":
                raise ValueError(f"{path}: line {first_line + i}: the file name is missing")
            filenames.append(str(v))
    chunk = _to_int_column(columns[i_chunk], header[i_chunk], path, first_line) \
        if i_chunk is not None else np.zeros(n, np.int64)
    nominal = None
    if i_nom is not None:
        nominal = [None if v is None or str(v) in ("", "?") else str(v) for v in columns[i_nom]]
    numeric = _to_int_column(columns[i_num], header[i_num], path, first_line) \
        if i_num is not None else None
    label_map = None
    if numeric is not None and nominal is not None and np.all(numeric == MISSING):
        numeric = None  # only nominal labels: the label map is built from the sorted names
    if nominal is not None and numeric is not None:
        label_map = _label_map_from_pairs(nominal, numeric, path)
        if parquet_map and label_map and all(parquet_map.get(k) == v
                                             for k, v in label_map.items()):
            label_map = parquet_map
    try:
        return DataSet(feats, (feature_dim,), filenames, chunk_nr=chunk, label_nominal=nominal,
                       label_numeric=numeric, label_map=label_map)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from None


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
                         "); choose one with --name")
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
                         "one with --name"))
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
