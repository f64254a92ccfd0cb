"""ESC-50 in its current release layout: ``audio/*.wav`` and ``meta/esc50.csv``.

``meta/esc50.csv`` has the columns ``filename, fold, target, category, esc10, ...``; the
fold (1-5) gives the cross-validation split, ``category`` the label and ``target`` its id
(the data set's own numbering, like the ``NNN`` of the folder layout). Option
``esc10=True`` keeps only the ESC-10 subset (rows whose ``esc10`` column is ``True``);
its ids are then renumbered ``0..9`` by name.

>>> ds = parse_dataset("ESC-50-master", "esc50")      # doctest: +SKIP
>>> len(ds.instances), ds.n_folds                       # doctest: +SKIP
(2000, 5)
"""
from __future__ import annotations

from typing import Optional

from ..dataset import Split, make_label_map
from ._base import Instance, ParsedDataset, Parser, read_table

_REQUIRED = ("filename", "fold", "target", "category")


class ESC50Parser(Parser):
    """ESC-50 release layout: ``audio/`` + ``meta/esc50.csv``."""
    name = "esc50"
    description = "ESC-50 release: audio/*.wav + meta/esc50.csv"
    tier = 0
    options = {"esc10": False}

    def check(self) -> Optional[str]:
        problem = self._listed_audio_only()
        if problem:
            return problem
        if not (self.basedir / "meta" / "esc50.csv").is_file():
            return "no meta/esc50.csv"
        if not (self.basedir / "audio").is_dir():
            return "no audio/ folder"
        return None

    def _parse(self, esc10: bool = False) -> ParsedDataset:
        csv_path = self.basedir / "meta" / "esc50.csv"
        rows = read_table(csv_path, ",")
        if not rows:
            raise ValueError(f"{csv_path} is empty")
        header = rows[0]
        missing = [c for c in _REQUIRED if c not in header]
        if missing:
            raise ValueError(f"{csv_path}: missing column(s) {missing} (found {header})")
        if esc10 and "esc10" not in header:
            raise ValueError(f"{csv_path}: no 'esc10' column, cannot select the ESC-10 subset")
        col = {c: header.index(c) for c in header}
        records = []
        for line, row in enumerate(rows[1:], start=2):
            if len(row) < len(header):
                raise ValueError(f"{csv_path}, line {line}: expected {len(header)} columns, got "
                                 f"{len(row)}")
            if esc10 and row[col["esc10"]].lower() not in ("true", "1"):
                continue
            try:
                fold, target = int(row[col["fold"]]), int(row[col["target"]])
            except ValueError:
                raise ValueError(f"{csv_path}, line {line}: fold and target must be integers") \
                    from None
            records.append((row[col["filename"]], fold, target, row[col["category"]], line))
        if not records:
            raise ValueError(f"{csv_path} lists no files")
        n_folds = max(r[1] for r in records)
        label_map = {}
        for fname, fold, target, cat, line in records:
            if fold < 1:
                raise ValueError(f"{csv_path}, line {line}: fold must be >= 1, got {fold}")
            if label_map.setdefault(cat, target) != target:
                raise ValueError(f"{csv_path}, line {line}: category {cat!r} has ids "
                                 f"{label_map[cat]} and {target}")
        if esc10:
            label_map = make_label_map(label_map)
        instances = []
        for fname, fold, target, cat, line in records:
            cv = [int(Split.TRAIN)] * n_folds
            cv[fold - 1] = int(Split.VALID)
            path = self.basedir / "audio" / fname
            instances.append(Instance(path.absolute(), self._rel(path), cat, tuple(cv)))
        return self._result(instances, n_folds, label_map)
