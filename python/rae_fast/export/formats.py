"""The export formats (CSV, ARFF, Parquet), their file extensions, and the folder names of
auDeep's layout."""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Optional, Union


from ..dataset import Partition

PathLike = Union[str, "os.PathLike[str]"]

#: Export formats and their file extensions.
FORMATS = {"csv": ".csv", "arff": ".arff", "parquet": ".parquet"}
_SUFFIX_FORMAT = {v: k for k, v in FORMATS.items()}
_FOLD_RE = re.compile(r"^fold_(\d+)$")
_PARTITION_DIRS = {p.name.lower(): p for p in Partition}
_BATCH = 512


def _check_format(fmt) -> str:
    if not isinstance(fmt, str) or fmt.lower() not in FORMATS:
        raise ValueError(f"format must be one of {sorted(FORMATS)}, got {fmt!r}")
    return fmt.lower()


def _format_of(path: Path, fmt: Optional[str]) -> str:
    if fmt is not None:
        return _check_format(fmt)
    suffix = path.suffix.lower()
    if suffix not in _SUFFIX_FORMAT:
        raise ValueError(f"cannot tell the format of {path} from its extension (expected one "
                         f"of {sorted(_SUFFIX_FORMAT)}); pass the format explicitly")
    return _SUFFIX_FORMAT[suffix]


# =================================================================================== writing
