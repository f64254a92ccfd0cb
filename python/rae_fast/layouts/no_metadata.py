"""No metadata: every audio file (or file of the parser's ``extensions``) anywhere below the
folder, unlabelled, no folds.

Files are sorted by their relative path; hidden files and folders are skipped.

>>> ds = parse_dataset("recordings", "no_metadata")   # doctest: +SKIP
>>> ds.label_map is None                              # doctest: +SKIP
True
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional

from ._base import Instance, ParsedDataset, Parser


class NoMetadataParser(Parser):
    """Any folder tree with audio files."""
    name = "no_metadata"
    description = "no metadata: every audio file below the folder, unlabelled"
    tier = 2

    def _walk(self):
        """os.walk following folder links, each real folder once (no cycles)."""
        seen = set()
        for root, dirs, files in os.walk(self.basedir, followlinks=True):
            real = os.path.realpath(root)
            if real in seen:
                dirs[:] = []
                continue
            seen.add(real)
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            yield root, [n for n in files if not n.startswith(".")
                         and os.path.splitext(n)[1].lower() in self.extensions]

    def _files(self) -> List[Path]:
        found = [Path(root) / name for root, files in self._walk() for name in files]
        return sorted(found, key=lambda p: p.relative_to(self.basedir).as_posix())

    def check(self) -> Optional[str]:
        for _, files in self._walk():
            if files:
                return None
        return f"no {self.files_word} below the folder"

    def _parse(self) -> ParsedDataset:
        instances = [Instance(f.absolute(), self._rel(f)) for f in self._files()]
        return self._result(instances, 0, labelled=False)
