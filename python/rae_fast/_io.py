"""Small I/O helpers shared by every command: atomic writes, path checks and file names.

Nothing is lost: every output file is written under a temporary name in the destination folder
and renamed into place only when complete, so an interrupted run never leaves a half-written
file under the final name.

File names are bytes on POSIX systems; Python shows a name that is not valid UTF-8 (e.g. the
Latin-1 ``b"caf\\xe9.wav"``) as a ``str`` with lone surrogates (``"caf\\udce9.wav"``,
PEP 383), which can be neither printed to a UTF-8 terminal nor stored in a netCDF string.
:func:`escape_filename` turns such a name into valid, printable UTF-8 without losing anything
(:func:`unescape_filename` gives the original back); :func:`printable` is the form for
messages.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator, Union

PathLike = Union[str, "os.PathLike[str]"]

__all__ = ["atomic_path", "atomic_write_text", "atomic_write_bytes", "partial_path",
           "escape_filename", "unescape_filename", "printable"]


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


# ------------------------------------------------------------------------------ file names

_HEX = frozenset("0123456789abcdefABCDEF")


def _is_surrogate(ch: str) -> bool:
    return "\ud800" <= ch <= "\udfff"


def _escape_surrogate(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"


def escape_filename(name: str) -> str:
    r"""A file name as valid, printable UTF-8 text, losslessly (inverse: :func:`unescape_filename`).

    Each byte that is not UTF-8 (a lone surrogate ``U+DC80..U+DCFF`` from Python's
    ``surrogateescape``, as ``os.listdir`` returns it) becomes ``\xNN``, as
    ``backslashreplace`` prints it; any other lone surrogate becomes ``\uXXXX``; a literal
    backslash is doubled only where it would otherwise read as the start of such an escape
    (before ``x``, ``u``, a backslash or an escaped byte). A valid UTF-8 name without those
    sequences is returned unchanged.

    >>> import os
    >>> name = os.fsdecode(b"caf\xe9.wav")              # a Latin-1 name on Linux
    >>> print(escape_filename(name))
    caf\xe9.wav
    >>> escape_filename("café.wav"), escape_filename("a\\b.wav")
    ('café.wav', 'a\\b.wav')
    >>> unescape_filename(escape_filename(name)) == name
    True
    """
    if name.isascii() and "\\" not in name:
        return name
    out = []
    last = len(name) - 1
    for i, ch in enumerate(name):
        if _is_surrogate(ch):
            out.append(_escape_surrogate(ch))
        elif ch == "\\" and i < last and (name[i + 1] in "xu\\" or _is_surrogate(name[i + 1])):
            out.append("\\\\")
        else:
            out.append(ch)
    return "".join(out)


def unescape_filename(text: str) -> str:
    r"""The original name of an :func:`escape_filename` result (``os.fsencode`` gives its bytes).

    >>> import os
    >>> os.fsencode(unescape_filename(r"caf\xe9.wav"))
    b'caf\xe9.wav'
    """
    if "\\" not in text:
        return text
    out = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n:
            nxt = text[i + 1]
            if nxt == "\\":
                out.append("\\")
                i += 2
                continue
            digits = text[i + 2:i + 4] if nxt == "x" else text[i + 2:i + 6] if nxt == "u" else ""
            if digits and len(digits) == (2 if nxt == "x" else 4) and set(digits) <= _HEX:
                code = int(digits, 16)
                if nxt == "x" and code >= 0x80:
                    code += 0xDC00
                if 0xD800 <= code <= 0xDFFF:
                    out.append(chr(code))
                    i += 2 + len(digits)
                    continue
        out.append(ch)
        i += 1
    return "".join(out)


def printable(path) -> str:
    r"""``str(path)`` in a form that can always be printed (and stored as UTF-8): unchanged when
    it is valid UTF-8, else with each byte that is not shown as ``\xNN`` (as
    :func:`escape_filename` writes it, but without doubling any backslash).

    >>> import os
    >>> print(printable(os.fsdecode(b"/data/caf\xe9.wav")))
    /data/caf\xe9.wav
    """
    text = os.fspath(path)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return "".join(_escape_surrogate(c) if _is_surrogate(c) else c for c in text)
