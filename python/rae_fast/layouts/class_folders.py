"""Plain class folders: ``<label>/<audio files>``, optionally with K stratified folds.

Option ``n_folds=K`` (K >= 2) assigns the files to K cross-validation folds, stratified by
label (:func:`rae_fast.dataset.make_cv_folds`, shuffled with ``seed``); 0 (default) gives
no folds. Labels are numbered by sorted name.

>>> ds = parse_dataset("my_set", "class_folders", n_folds=5, seed=1)   # doctest: +SKIP
>>> ds.n_folds                                                         # doctest: +SKIP
5
"""
from __future__ import annotations

from typing import Optional

from ..dataset import make_cv_folds
from ._base import Instance, ParsedDataset, Parser, class_folder_problem, visible_dirs


class ClassFoldersParser(Parser):
    """One folder per label, audio files inside."""
    name = "class_folders"
    description = "plain class folders: <label>/* (option n_folds: stratified folds)"
    tier = 1
    options = {"n_folds": 0, "seed": 0}

    def check(self) -> Optional[str]:
        return class_folder_problem(self.basedir, "folder", self.extensions)

    def _parse(self, n_folds: int = 0, seed: int = 0) -> ParsedDataset:
        if isinstance(n_folds, bool) or not isinstance(n_folds, int):
            raise TypeError(f"n_folds must be an int, got {n_folds!r}")
        if n_folds < 0 or n_folds == 1:
            raise ValueError(f"n_folds must be 0 (no folds) or >= 2, got {n_folds}")
        files = []
        for cls in visible_dirs(self.basedir):
            for f in self.files_in(cls):
                files.append((f, cls.name))
        folds = (make_cv_folds(n_folds, labels=[lab for _, lab in files], seed=seed)
                 if n_folds else None)
        instances = []
        for i, (f, lab) in enumerate(files):
            cv = tuple(int(v) for v in folds[i]) if folds is not None else ()
            instances.append(Instance(f.absolute(), self._rel(f), lab, cv))
        return self._result(instances, n_folds)
