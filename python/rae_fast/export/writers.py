"""Writing one table of instances: CSV, ARFF or Parquet, in batches, atomically."""
from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from .._io import atomic_path
from ..dataset import MISSING, DataSet
from .formats import _BATCH, PathLike, _format_of

log = logging.getLogger(__name__)


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
