"""UrbanSound8K: ``metadata/UrbanSound8K.csv`` + ``audio/foldK/<slice_file_name>``.

The csv columns used are ``slice_file_name``, ``fold`` (1-10) and ``classID`` / ``class``;
labels keep the data set's own ids (``classID``), as auDeep's parser does.

>>> ds = parse_dataset("UrbanSound8K", "urbansound8k")    # doctest: +SKIP
>>> ds.n_folds, len(ds.instances)                         # doctest: +SKIP
(10, 8732)
"""
from __future__ import annotations

from typing import Optional

from ..dataset import Split
from ._base import Instance, ParsedDataset, Parser, read_table

_REQUIRED = ("slice_file_name", "fold", "classID", "class")


class UrbanSound8KParser(Parser):
    """UrbanSound8K layout."""
    name = "urbansound8k"
    description = "UrbanSound8K: metadata/UrbanSound8K.csv + audio/foldK/"
    tier = 0

    def check(self) -> Optional[str]:
        problem = self._listed_audio_only()
        if problem:
            return problem
        if not (self.basedir / "metadata" / "UrbanSound8K.csv").is_file():
            return "no metadata/UrbanSound8K.csv"
        if not (self.basedir / "audio").is_dir():
            return "no audio/ folder"
        return None

    def _parse(self) -> ParsedDataset:
        csv_path = self.basedir / "metadata" / "UrbanSound8K.csv"
        rows = read_table(csv_path, ",")
        if not rows:
            raise ValueError(f"{csv_path} is empty")
        header = rows[0]
        missing = [c for c in _REQUIRED if c not in header]
        if missing:
            raise ValueError(f"{csv_path}: missing column(s) {missing} (found {header})")
        col = {c: header.index(c) for c in header}
        records = []
        for line, row in enumerate(rows[1:], start=2):
            if len(row) < len(header):
                raise ValueError(f"{csv_path}, line {line}: expected {len(header)} columns, got "
                                 f"{len(row)}")
            try:
                fold, cid = int(row[col["fold"]]), int(row[col["classID"]])
            except ValueError:
                raise ValueError(f"{csv_path}, line {line}: fold and classID must be integers") \
                    from None
            if fold < 1:
                raise ValueError(f"{csv_path}, line {line}: fold must be >= 1, got {fold}")
            records.append((row[col["slice_file_name"]], fold, cid, row[col["class"]], line))
        if not records:
            raise ValueError(f"{csv_path} lists no files")
        n_folds = max(r[1] for r in records)
        label_map = {}
        for _, _, cid, cls, line in records:
            if label_map.setdefault(cls, cid) != cid:
                raise ValueError(f"{csv_path}, line {line}: class {cls!r} has ids "
                                 f"{label_map[cls]} and {cid}")
        instances = []
        for fname, fold, cid, cls, _ in records:
            cv = [int(Split.TRAIN)] * n_folds
            cv[fold - 1] = int(Split.VALID)
            path = self.basedir / "audio" / f"fold{fold}" / fname
            instances.append(Instance(path.absolute(), self._rel(path), cls, tuple(cv)))
        return self._result(instances, n_folds, label_map)
