"""Shared pieces of the dataset-layout parsers: the parsed result and the parser base class."""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, ClassVar, Dict, List, Optional, Tuple, Union

from ..audio import AUDIO_EXTENSIONS
from ..dataset import MISSING, make_label_map

PathLike = Union[str, "os.PathLike[str]"]


@dataclasses.dataclass(frozen=True)
class Instance:
    """One audio file of a collection, with its metadata.

    ``path``: absolute path; ``filename``: the name stored in the data set (path relative to
    the collection folder, ``/``-separated); ``label_nominal``: class name or None;
    ``cv_folds``: one entry per fold, 0 train / 1 validation / -1 missing; ``partition``:
    0 train / 1 devel / 2 test / -1 missing.
    """
    path: Path
    filename: str
    label_nominal: Optional[str] = None
    cv_folds: Tuple[int, ...] = ()
    partition: int = MISSING


@dataclasses.dataclass
class ParsedDataset:
    """What a parser found: the instances (in a deterministic order) and global metadata.

    >>> ds = parse_dataset("esc10")          # doctest: +SKIP
    >>> ds.parser, len(ds.instances), ds.n_folds, len(ds.label_map)   # doctest: +SKIP
    ('esc', 400, 5, 10)
    """
    basedir: Path
    parser: str
    instances: List[Instance]
    label_map: Optional[Dict[str, int]]
    n_folds: int

    def label_counts(self) -> Dict[Optional[str], int]:
        """Number of files per nominal label (None: unlabelled)."""
        out: Dict[Optional[str], int] = {}
        for inst in self.instances:
            out[inst.label_nominal] = out.get(inst.label_nominal, 0) + 1
        return out


class Parser:
    """Base class: one subclass per dataset layout.

    Subclasses set ``name``, ``description``, ``tier`` (0: a specific layout with its own
    metadata; 1: generic class folders; 2: anything with audio files) and ``options`` (the
    keyword options of :meth:`parse` with their defaults), and implement :meth:`check`
    (why the folder does *not* match, or None) and :meth:`_parse`.
    """
    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    tier: ClassVar[int] = 0
    options: ClassVar[Dict[str, Any]] = {}

    def __init__(self, basedir: PathLike):
        self.basedir = Path(basedir)

    def check(self) -> Optional[str]:
        """None when this parser can read the folder, else a short reason why not."""
        raise NotImplementedError

    def can_parse(self) -> bool:
        """True when :meth:`check` finds nothing wrong."""
        return self.check() is None

    def parse(self, **options) -> ParsedDataset:
        """Parse the folder (``options``: see the parser's ``options``)."""
        unknown = set(options) - set(self.options)
        if unknown:
            allowed = ", ".join(sorted(self.options)) or "none"
            raise TypeError(f"parser {self.name!r} has no option(s) {sorted(unknown)} "
                            f"(its options: {allowed})")
        reason = self.check()
        if reason is not None:
            raise ValueError(f"parser {self.name!r} cannot read {self.basedir}: {reason}")
        kw = dict(self.options)
        kw.update(options)
        return self._parse(**kw)

    def _parse(self, **options) -> ParsedDataset:
        raise NotImplementedError

    # helpers ---------------------------------------------------------------------------
    def _rel(self, path: Path) -> str:
        return path.relative_to(self.basedir).as_posix()

    def _result(self, instances: List[Instance], n_folds: int,
                label_map: Optional[Dict[str, int]] = None,
                labelled: bool = True) -> ParsedDataset:
        if labelled and label_map is None:
            label_map = make_label_map(i.label_nominal for i in instances)
        if labelled and not label_map:
            label_map = None
        return ParsedDataset(self.basedir, self.name, instances, label_map, n_folds)


def visible_dirs(folder: Path) -> List[Path]:
    """Non-hidden sub-folders, sorted by name."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    return sorted((Path(e.path) for e in entries
                   if not e.name.startswith(".") and e.is_dir()), key=lambda p: p.name)


def audio_files(folder: Path) -> List[Path]:
    """Audio files directly in ``folder`` (by extension, non-hidden), sorted by name."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    return sorted((Path(e.path) for e in entries
                   if not e.name.startswith(".") and e.is_file()
                   and os.path.splitext(e.name)[1].lower() in AUDIO_EXTENSIONS),
                  key=lambda p: p.name)


def class_folder_problem(folder: Path, what: str) -> Optional[str]:
    """Why ``folder`` is not a set of ``<label>/<audio files>`` folders, or None."""
    classes = visible_dirs(folder)
    if not classes:
        return f"{what} {folder.name or folder} has no class folders"
    if audio_files(folder):
        return f"{what} {folder.name or folder} holds audio files outside class folders"
    for c in classes:
        if not audio_files(c):
            return f"class folder {c.relative_to(folder.parent) if folder.parent else c} has no audio files"
    return None


def read_table(path: Path, delimiter: str) -> List[List[str]]:
    """Rows of a small text table (csv module), stripped, empty rows dropped."""
    import csv

    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = [[c.strip() for c in row] for row in csv.reader(fh, delimiter=delimiter)]
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not a UTF-8 text table") from None
    return [r for r in rows if any(r)]
