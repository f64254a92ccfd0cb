"""Reading one CSV, ARFF or Parquet table back into a :class:`~rae_fast.dataset.DataSet`."""
from __future__ import annotations

import csv
import io
import json
import logging
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..dataset import MISSING, DataSet
from .formats import PathLike, _format_of

log = logging.getLogger(__name__)


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
                                     "filename_column, chunk_nr_column, label_nominal_column and "
                                     "label_numeric_column, or remove the column)") from None
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
