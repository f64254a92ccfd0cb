"""DCASE 2017 acoustic scenes (development set): ``meta.txt`` + ``evaluation_setup/``.

``meta.txt`` lists ``<file>\\t<label>[\\t...]`` per line (paths relative to the folder);
``evaluation_setup/foldK_train.txt`` (K = 1, 2, ...) lists the training files of fold K.
A file is in the validation split of fold K when ``foldK_evaluate.txt`` lists it, or, when
that file is absent, whenever it is not a training file (auDeep's rule). Labels are
numbered by sorted name (``beach`` -> 0, ...).

>>> ds = parse_dataset("TUT-acoustic-scenes-2017-development", "dcase")   # doctest: +SKIP
>>> ds.n_folds, len(ds.label_map)                                         # doctest: +SKIP
(4, 15)
"""
from __future__ import annotations

from typing import Optional, Set

from ..dataset import MISSING, Split
from ._base import Instance, ParsedDataset, Parser, read_table


def _first_column(path) -> Set[str]:
    return {row[0] for row in read_table(path, "\t")}


class DCASEParser(Parser):
    """DCASE 2017 task 1 development layout (meta.txt + evaluation_setup/foldK_train.txt)."""
    name = "dcase"
    description = "DCASE 2017: meta.txt + evaluation_setup/foldK_train.txt"
    tier = 0

    def _n_folds(self) -> int:
        k = 0
        while (self.basedir / "evaluation_setup" / f"fold{k + 1}_train.txt").is_file():
            k += 1
        return k

    def check(self) -> Optional[str]:
        problem = self._listed_audio_only()
        if problem:
            return problem
        if not (self.basedir / "meta.txt").is_file():
            return "no meta.txt"
        if self._n_folds() == 0:
            return "no evaluation_setup/fold1_train.txt"
        return None

    def _parse(self) -> ParsedDataset:
        meta = self.basedir / "meta.txt"
        rows = read_table(meta, "\t")
        if not rows:
            raise ValueError(f"{meta} lists no files")
        n_folds = self._n_folds()
        train_sets, eval_sets = [], []
        for k in range(1, n_folds + 1):
            train_sets.append(_first_column(self.basedir / "evaluation_setup" /
                                            f"fold{k}_train.txt"))
            ev = self.basedir / "evaluation_setup" / f"fold{k}_evaluate.txt"
            eval_sets.append(_first_column(ev) if ev.is_file() else None)
        instances, seen = [], set()
        for line, row in enumerate(rows, start=1):
            fname = row[0].replace("\\", "/")
            if fname in seen:
                raise ValueError(f"{meta}, line {line}: {fname} is listed twice")
            seen.add(fname)
            label = row[1] if len(row) > 1 and row[1] else None
            cv = []
            for train, ev in zip(train_sets, eval_sets):
                if fname in train:
                    cv.append(int(Split.TRAIN))
                elif ev is None or fname in ev:
                    cv.append(int(Split.VALID))
                else:
                    cv.append(MISSING)
            path = self.basedir / fname
            instances.append(Instance(path.absolute(), fname, label, tuple(cv)))
        return self._result(instances, n_folds)
