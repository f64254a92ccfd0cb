"""Small I/O helpers shared by every command: atomic writes and path checks.

Nothing is lost: every output file is written under a temporary name in the destination folder
and renamed into place only when complete, so an interrupted run never leaves a half-written
file under the final name.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator, Union

PathLike = Union[str, "os.PathLike[str]"]

__all__ = ["atomic_path", "atomic_write_text", "atomic_write_bytes", "partial_path"]


def partial_path(path: PathLike) -> Path:
    """The name under which `path` is written before it is complete (``<name>.partial``)."""
    path = Path(path)
    return path.with_name(path.name + ".partial")


@contextlib.contextmanager
def atomic_path(path: PathLike, keep_partial: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it to ``path`` when the block succeeds.

    On any exception (including ``KeyboardInterrupt``) the temporary file is removed, unless
    ``keep_partial`` is true, in which case it is left as ``<name>.partial`` so that the caller
    can resume from it; ``path`` itself is never touched unless the block completed.

    Example
    -------
    >>> with atomic_path("out.csv") as tmp:          # doctest: +SKIP
    ...     tmp.write_text("a,b\\n1,2\\n")
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    if keep_partial:
        tmp = partial_path(path)
    else:
        fd, name = tempfile.mkstemp(prefix="." + path.name + ".", suffix=".tmp", dir=parent)
        os.close(fd)
        tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        if not keep_partial:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        raise


def atomic_write_text(path: PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding=encoding)
    return Path(path)


def atomic_write_bytes(path: PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)
