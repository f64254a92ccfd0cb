"""ESC-10 / ESC-50 in their original class-folder layout: ``NNN - Name/F-ID-T.ogg``.

The fold (1-5) is the first character of the file name; labels are numbered in the order of
the class folders' names (``001 - Dog bark`` -> 0, ...), as auDeep's ESCParser does.

>>> from rae_fast.layouts import parse_dataset
>>> ds = parse_dataset("ESC-10", "esc")                 # doctest: +SKIP
>>> ds.n_folds, ds.label_map["Dog bark"]                 # doctest: +SKIP
(5, 0)
"""
from __future__ import annotations

import re
from typing import Optional

from ..dataset import Split
from ._base import Instance, ParsedDataset, Parser, visible_dirs

_CLASS_RE = re.compile(r"^(\d{3}) - (.+)$")
_FILE_RE = re.compile(r"^([1-5])-")
N_FOLDS = 5


class ESCParser(Parser):
    """ESC-10 / ESC-50 class folders ``NNN - Name`` holding ``F-ID-T.ogg`` files (F = fold)."""
    name = "esc"
    description = "ESC-10/ESC-50 class folders 'NNN - Name/F-ID-T.ogg' (fold = first character)"
    tier = 0

    def check(self) -> Optional[str]:
        dirs = visible_dirs(self.basedir)
        if not dirs:
            return "no class folders"
        for d in dirs:
            if not _CLASS_RE.match(d.name):
                return f"folder {d.name!r} does not look like 'NNN - Name'"
            files = self.files_in(d)
            if not files:
                return f"class folder {d.name!r} has no {self.files_word}"
            for f in files:
                if not _FILE_RE.match(f.name):
                    return (f"{d.name}/{f.name}: the file name does not start with a fold "
                            f"number 1-5 and '-' (as in ESC: F-ID-T{f.suffix})")
        return None

    def _parse(self) -> ParsedDataset:
        dirs = visible_dirs(self.basedir)
        label_map, folder_of = {}, {}
        instances = []
        for idx, d in enumerate(dirs):
            label = _CLASS_RE.match(d.name).group(2)
            if label in label_map:
                raise ValueError(f"{self.basedir}: class {label!r} has two folders, "
                                 f"{folder_of[label]!r} and {d.name!r}")
            label_map[label] = idx
            folder_of[label] = d.name
            for f in self.files_in(d):
                fold = int(f.name[0]) - 1
                cv = [int(Split.TRAIN)] * N_FOLDS
                cv[fold] = int(Split.VALID)
                instances.append(Instance(f.absolute(), self._rel(f), label, tuple(cv)))
        return self._result(instances, N_FOLDS, label_map)
