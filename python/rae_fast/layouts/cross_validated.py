"""Cross-validated class folders: ``fold_1 ... fold_K/<label>/<audio files>`` (K >= 2).

The files under ``fold_k`` are the validation split of fold k and training data of every
other fold. Labels are numbered by sorted name.

>>> ds = parse_dataset("my_set", "cross_validated")   # doctest: +SKIP
>>> ds.n_folds                                         # doctest: +SKIP
4
"""
from __future__ import annotations

import re
from typing import List, Optional

from ..dataset import Split
from ._base import Instance, ParsedDataset, Parser, class_folder_problem, visible_dirs

_FOLD_RE = re.compile(r"^fold_(\d+)$")


class CrossValidatedParser(Parser):
    """``fold_K`` folders of class folders."""
    name = "cross_validated"
    description = "cross-validated class folders: fold_K/<label>/*"
    tier = 0

    def _folds(self) -> List:
        return [d for d in visible_dirs(self.basedir) if _FOLD_RE.match(d.name)]

    def check(self) -> Optional[str]:
        folds = self._folds()
        if len(folds) < 2:
            return "fewer than two fold_K folders"
        numbers = sorted(int(_FOLD_RE.match(d.name).group(1)) for d in folds)
        if numbers != list(range(1, len(folds) + 1)):
            return f"fold folders must be numbered 1..{len(folds)}, found {numbers}"
        for d in folds:
            problem = class_folder_problem(d, "fold folder", self.extensions)
            if problem:
                return problem
        return None

    def _parse(self) -> ParsedDataset:
        k = len(self._folds())
        instances = []
        for fold in range(k):
            folder = self.basedir / f"fold_{fold + 1}"
            cv = [int(Split.TRAIN)] * k
            cv[fold] = int(Split.VALID)
            for cls in visible_dirs(folder):
                for f in self.files_in(cls):
                    instances.append(Instance(f.absolute(), self._rel(f), cls.name, tuple(cv)))
        return self._result(instances, k)
