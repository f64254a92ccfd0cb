"""Dataset layouts: one parser per folder structure, and automatic detection.

========================= =========================================================== ====
parser                    layout                                                      tier
========================= =========================================================== ====
``esc``                   ESC-10/ESC-50 class folders ``NNN - Name/F-ID-T.ogg``       0
``esc50``                 ESC-50 release: ``audio/*.wav`` + ``meta/esc50.csv``        0
``dcase``                 DCASE 2017: ``meta.txt`` + ``evaluation_setup/foldK_*.txt`` 0
``urbansound8k``          ``metadata/UrbanSound8K.csv`` + ``audio/foldK/``            0
``partitioned``           ``train|devel|test/<label>/*``                              0
``cross_validated``       ``fold_K/<label>/*``                                        0
``class_folders``         ``<label>/*`` (option ``n_folds``: stratified folds)        1
``no_metadata``           every audio file below the folder, unlabelled               2
========================= =========================================================== ====

Detection (``parser="auto"``) looks at the specific layouts (tier 0) first and uses the one
that matches; if several match it refuses and asks for ``--parser``. Only when none does it
falls back to plain class folders (tier 1), then to "no metadata" (tier 2). When nothing
matches, the error lists every parser with the reason it does not apply. auDeep's parser
class names (``audeep.backend.parsers.esc.ESCParser``, ``MetaParser``...) are accepted too.

Instances are audio files by default; ``extensions=`` (e.g. ``{".obj"}``) makes the folder
layouts (``esc``, ``partitioned``, ``cross_validated``, ``class_folders``, ``no_metadata``)
describe other per-clip files instead — :func:`rae_fast.obj.load_dataset` reads folders of
autocorrelogram meshes this way. The layouts whose metadata lists audio files by name
(``esc50``, ``dcase``, ``urbansound8k``) accept only audio.

Stored names are valid UTF-8: a file or class-folder name that is not (e.g. Latin-1 bytes on
Linux) is stored escaped, losslessly, by :func:`escape_filename` (``caf\\xe9.wav``);
:func:`unescape_filename` gives the name on disk back.

>>> from rae_fast.layouts import parse_dataset
>>> ds = parse_dataset("/data/ESC-10")                 # doctest: +SKIP
>>> ds.parser, len(ds.instances), ds.n_folds           # doctest: +SKIP
('esc', 400, 5)
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Iterable, List, Optional, Type

from .._io import printable
from ._base import (
    AUDIO_EXTENSIONS,
    Instance,
    ParsedDataset,
    Parser,
    PathLike,
    check_extensions,
    escape_filename,
    is_audio_file,
    unescape_filename,
)
from .class_folders import ClassFoldersParser
from .cross_validated import CrossValidatedParser
from .dcase import DCASEParser
from .esc import ESCParser
from .esc50 import ESC50Parser
from .no_metadata import NoMetadataParser
from .partitioned import PartitionedParser
from .urbansound8k import UrbanSound8KParser

__all__ = ["AUDIO_EXTENSIONS", "is_audio_file", "escape_filename", "unescape_filename",
           "Instance", "ParsedDataset", "Parser", "PARSERS", "get_parser", "detect_parser",
           "parse_dataset"]

#: Parser name -> class, in detection order.
PARSERS: Dict[str, Type[Parser]] = {cls.name: cls for cls in (
    ESCParser, ESC50Parser, DCASEParser, UrbanSound8KParser, PartitionedParser,
    CrossValidatedParser, ClassFoldersParser, NoMetadataParser)}

_AUDEEP_NAMES = {
    "ESCParser": "esc", "DCASEParser": "dcase", "UrbanSound8KParser": "urbansound8k",
    "PartitionedParser": "partitioned", "CrossValidatedParser": "cross_validated",
    "NoMetadataParser": "no_metadata", "MetaParser": "auto",
}


def _check_basedir(basedir: PathLike) -> Path:
    path = Path(basedir)
    if not path.exists():
        raise FileNotFoundError(f"data set folder {printable(path)} does not exist")
    if not path.is_dir():
        raise NotADirectoryError(f"{printable(path)} is not a folder (expected the data set's "
                                 "base folder)")
    return path


def _resolve_name(name: str) -> str:
    if not isinstance(name, str):
        raise TypeError(f"parser must be a str, got {type(name).__name__}")
    key = name.strip()
    short = key.rsplit(".", 1)[-1]
    if short in _AUDEEP_NAMES:
        return _AUDEEP_NAMES[short]
    key = key.lower().replace("-", "_")
    if key == "auto" or key in PARSERS:
        return key
    raise ValueError(f"unknown parser {name!r}; choose one of: auto, {', '.join(PARSERS)}")


def get_parser(name: str, basedir: PathLike,
               extensions: Optional[Iterable[str]] = None) -> Parser:
    """The parser called ``name`` (see :data:`PARSERS`) for ``basedir``; ``"auto"`` detects.

    ``extensions``: file types that are instances (default: audio files), e.g. ``{".obj"}``.

    >>> get_parser("esc", "/data/ESC-10").can_parse()    # doctest: +SKIP
    True
    """
    path = _check_basedir(basedir)
    exts = check_extensions(extensions)
    key = _resolve_name(name)
    if key == "auto":
        key = detect_parser(path, exts)
    return PARSERS[key](path, exts)


def detect_parser(basedir: PathLike, extensions: Optional[Iterable[str]] = None) -> str:
    """Name of the one parser that reads ``basedir`` (see the module docstring for the rules).

    ``extensions``: file types that are instances (default: audio files).
    Raises ``ValueError`` when several specific layouts match (naming them) or when none
    matches (with each parser's reason).

    >>> detect_parser("/data/ESC-10")                     # doctest: +SKIP
    'esc'
    >>> detect_parser("esc10_obj", extensions={".obj"})   # doctest: +SKIP
    'esc'
    """
    path = _check_basedir(basedir)
    exts = check_extensions(extensions)
    reasons: Dict[str, str] = {}
    for tier in sorted({cls.tier for cls in PARSERS.values()}):
        matches: List[str] = []
        for name, cls in PARSERS.items():
            if cls.tier != tier:
                continue
            reason = cls(path, exts).check()
            if reason is None:
                matches.append(name)
            else:
                reasons[name] = reason
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise ValueError(f"several data set layouts match {printable(path)}: "
                             f"{', '.join(matches)}; "
                             f"choose one with parser=NAME")
    lines = "\n".join(f"  {name}: {printable(why)}" for name, why in reasons.items())
    raise ValueError(f"no known data set layout matches {printable(path)}:\n{lines}")


def parse_dataset(basedir: PathLike, parser: str = "auto", *,
                  extensions: Optional[Iterable[str]] = None, **options) -> ParsedDataset:
    """Parse a collection folder: instances (files with labels, folds, partitions) and metadata.

    Parameters
    ----------
    basedir : folder of the collection
    parser : str
        ``"auto"`` (default) or a name from :data:`PARSERS`.
    extensions : iterable of str, optional
        File types that are instances, e.g. ``{".obj"}`` (default: audio files, see
        :data:`AUDIO_EXTENSIONS`).
    **options
        Parser options, e.g. ``n_folds=5, seed=0`` for ``class_folders`` or ``esc10=True``
        for ``esc50``.

    Returns
    -------
    ParsedDataset

    >>> ds = parse_dataset("/data/ESC-10")                # doctest: +SKIP
    >>> ds.instances[0].filename, ds.instances[0].cv_folds   # doctest: +SKIP
    ('001 - Dog bark/1-100032-A.ogg', (1, 0, 0, 0, 0))
    """
    return get_parser(parser, basedir, extensions).parse(**options)
