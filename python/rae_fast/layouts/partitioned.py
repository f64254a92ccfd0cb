"""Partitioned class folders: ``train|devel|test/<label>/<audio files>``.

At least one of the three partition folders must exist; each holds one folder per label.
Labels are numbered by sorted name over all partitions.

>>> ds = parse_dataset("my_set", "partitioned")      # doctest: +SKIP
>>> sorted({i.partition for i in ds.instances})      # doctest: +SKIP
[0, 1, 2]
"""
from __future__ import annotations

from typing import Optional

from ..dataset import Partition
from ._base import Instance, ParsedDataset, Parser, class_folder_problem, visible_dirs

_PARTS = (("train", Partition.TRAIN), ("devel", Partition.DEVEL), ("test", Partition.TEST))


class PartitionedParser(Parser):
    """``train/``, ``devel/``, ``test/`` folders of class folders."""
    name = "partitioned"
    description = "partitioned class folders: train|devel|test/<label>/*"
    tier = 0

    def _existing(self):
        return [(self.basedir / n, p) for n, p in _PARTS if (self.basedir / n).is_dir()]

    def check(self) -> Optional[str]:
        existing = self._existing()
        if not existing:
            return "no train/, devel/ or test/ folder"
        for folder, _ in existing:
            problem = class_folder_problem(folder, "partition folder", self.extensions)
            if problem:
                return problem
        return None

    def _parse(self) -> ParsedDataset:
        instances = []
        for folder, part in self._existing():
            for cls in visible_dirs(folder):
                for f in self.files_in(cls):
                    instances.append(Instance(f.absolute(), self._rel(f), cls.name, (),
                                              int(part)))
        return self._result(instances, 0)
