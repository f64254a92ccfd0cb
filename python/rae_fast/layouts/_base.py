"""Shared pieces of the dataset-layout parsers: the parsed result and the parser base class.

Parsers look for audio files by default (:data:`AUDIO_EXTENSIONS`); every
parser also takes ``extensions=``, the file types that count as instances, so that the same
layouts describe folders of other per-clip files, e.g. the ``.obj`` autocorrelogram meshes
that :func:`rae_fast.obj.load_dataset` reads.

The names stored for instances (``filename``, and labels taken from folder names) are valid
UTF-8 whatever the file system holds, since netCDF strings must be UTF-8: a name that is not
(the Latin-1 bytes ``b"caf\\xe9.wav"`` on Linux) is stored as the text ``caf\\xe9.wav``
(:func:`escape_filename`; lossless, :func:`unescape_filename` gives the name on disk back).
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import (
    AbstractSet,
    Any,
    ClassVar,
    Dict,
    Iterable,
    List,
    Optional,
    Tuple,
    Union,
)

from .._io import escape_filename, printable, unescape_filename  # noqa: F401 (re-exported)
from ..dataset import MISSING, make_label_map

PathLike = Union[str, "os.PathLike[str]"]

#: File name extensions treated as audio when scanning folders (what libsndfile reads).
AUDIO_EXTENSIONS = frozenset({
    ".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".aiff", ".aif", ".aifc", ".au", ".snd",
    ".caf", ".w64", ".rf64", ".mp3", ".sd2", ".voc", ".htk", ".nist", ".sph", ".mat", ".paf",
    ".pvf", ".xi", ".avr", ".mpc", ".sds", ".ircam", ".sf", ".wve", ".iff", ".svx",
})


def is_audio_file(path: PathLike) -> bool:
    """True for a regular, non-hidden file whose extension is in :data:`AUDIO_EXTENSIONS`.

    >>> is_audio_file("no/such/file.wav"), is_audio_file("README.md")
    (False, False)
    """
    p = Path(path)
    return (p.suffix.lower() in AUDIO_EXTENSIONS and not p.name.startswith(".")
            and p.is_file())



@dataclasses.dataclass(frozen=True)
class Instance:
    """One audio file of a collection, with its metadata.

    ``path``: absolute path; ``filename``: the name stored in the data set (path relative to
    the collection folder, ``/``-separated, valid UTF-8: see :func:`escape_filename`);
    ``label_nominal``: class name (escaped the same way) or None;
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


def check_extensions(extensions: Optional[Iterable[str]]) -> AbstractSet[str]:
    """The set of lower-case file name suffixes (with their dot) that count as instances.

    ``None`` gives :data:`AUDIO_EXTENSIONS`; ``"obj"`` and ``".OBJ"`` both give
    ``".obj"``.

    >>> sorted(check_extensions(["obj", ".NPY"]))
    ['.npy', '.obj']
    """
    if extensions is None:
        return AUDIO_EXTENSIONS
    if isinstance(extensions, str):
        extensions = [extensions]
    out = set()
    for ext in extensions:
        if not isinstance(ext, str):
            raise TypeError(f"extensions must be strings like '.obj', got {ext!r}")
        e = ext.strip().lower()
        e = e if e.startswith(".") else "." + e
        if len(e) < 2 or "/" in e or os.sep in e:
            raise ValueError(f"{ext!r} is not a file name extension (expected e.g. '.obj')")
        out.add(e)
    if not out:
        raise ValueError("extensions is empty: no file would count as an instance")
    return frozenset(out)


def files_word(extensions: AbstractSet[str]) -> str:
    """``"audio files"`` for the audio extensions, else e.g. ``".obj files"`` (for messages)."""
    if extensions == AUDIO_EXTENSIONS:
        return "audio files"
    return "/".join(sorted(extensions)) + " files"


class Parser:
    """Base class: one subclass per dataset layout.

    Subclasses set ``name``, ``description``, ``tier`` (0: a specific layout with its own
    metadata; 1: generic class folders; 2: anything with audio files) and ``options`` (the
    keyword options of :meth:`parse` with their defaults), and implement :meth:`check`
    (why the folder does *not* match, or None) and :meth:`_parse`.

    ``extensions``: the file types that are instances (default: audio files). Layouts whose
    metadata tables list the audio files by name accept only the default.

    >>> from rae_fast.layouts import get_parser
    >>> get_parser("esc", "esc10_obj", extensions={".obj"}).can_parse()   # doctest: +SKIP
    True
    """
    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    tier: ClassVar[int] = 0
    options: ClassVar[Dict[str, Any]] = {}

    def __init__(self, basedir: PathLike, extensions: Optional[Iterable[str]] = None):
        self.basedir = Path(basedir)
        self.extensions = check_extensions(extensions)

    @property
    def files_word(self) -> str:
        """What the instances are called in messages: "audio files", ".obj files"..."""
        return files_word(self.extensions)

    def files_in(self, folder: Path) -> List[Path]:
        """Instance files directly in ``folder`` (see :func:`audio_files`)."""
        return audio_files(folder, self.extensions)

    def _listed_audio_only(self) -> Optional[str]:
        """For layouts whose metadata lists the files: why other extensions do not apply."""
        if self.extensions != AUDIO_EXTENSIONS:
            return (f"its metadata lists audio files by name, so it cannot read "
                    f"{self.files_word}")
        return None

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
            raise ValueError(f"parser {self.name!r} cannot read {printable(self.basedir)}: "
                             f"{printable(reason)}")
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
        instances = [_escaped(inst) for inst in instances]
        if label_map is not None:
            label_map = {escape_filename(k): v for k, v in label_map.items()}
        if labelled and label_map is None:
            label_map = make_label_map(i.label_nominal for i in instances)
        if labelled and not label_map:
            label_map = None
        return ParsedDataset(self.basedir, self.name, instances, label_map, n_folds)


def _escaped(inst: Instance) -> Instance:
    """``inst`` with its stored names (file name, label) escaped as valid UTF-8 text."""
    name = escape_filename(inst.filename)
    label = None if inst.label_nominal is None else escape_filename(inst.label_nominal)
    if name == inst.filename and label == inst.label_nominal:
        return inst
    return dataclasses.replace(inst, filename=name, label_nominal=label)


def visible_dirs(folder: Path) -> List[Path]:
    """Non-hidden sub-folders, sorted by name."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    return sorted((Path(e.path) for e in entries
                   if not e.name.startswith(".") and e.is_dir()), key=lambda p: p.name)


def audio_files(folder: Path, extensions: AbstractSet[str] = AUDIO_EXTENSIONS) -> List[Path]:
    """Files directly in ``folder`` whose extension is in ``extensions`` (lower-case, with the
    dot; default: audio files), non-hidden, sorted by name."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    return sorted((Path(e.path) for e in entries
                   if not e.name.startswith(".") and e.is_file()
                   and os.path.splitext(e.name)[1].lower() in extensions),
                  key=lambda p: p.name)


def class_folder_problem(folder: Path, what: str,
                         extensions: AbstractSet[str] = AUDIO_EXTENSIONS) -> Optional[str]:
    """Why ``folder`` is not a set of ``<label>/<files>`` folders (files: by ``extensions``,
    default audio), or None."""
    word = files_word(extensions)
    classes = visible_dirs(folder)
    if not classes:
        return f"{what} {folder.name or folder} has no class folders"
    if audio_files(folder, extensions):
        return f"{what} {folder.name or folder} holds {word} outside class folders"
    for c in classes:
        if not audio_files(c, extensions):
            name = c.relative_to(folder.parent) if folder.parent else c
            return f"class folder {name} has no {word}"
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
