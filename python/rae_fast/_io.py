"""Small I/O helpers shared by every command: atomic writes, path checks, write errors.

Nothing is lost: every output file is written under a temporary name in the destination folder,
flushed to the disk (``fsync``) and renamed into place only when complete, so an interrupted or
failed run never leaves a half-written file under the final name.

A write that fails -- a full disk, an exceeded quota, an I/O error -- raises
:class:`WriteError`, an :class:`OSError` that names the output file (``errno``, ``filename``)
and reads as one line: ``no space left on device while writing out.nc``. Libraries that report
a full disk without an ``errno`` (netCDF4/HDF5 raises ``RuntimeError: NetCDF: HDF error``,
``torch.save`` an ``enforce fail``) are mapped with :func:`write_error`, which looks at the
free space of the file system.

File names are bytes on POSIX systems; Python shows a name that is not valid UTF-8 (e.g. the
Latin-1 ``b"caf\\xe9.wav"``) as a ``str`` with lone surrogates (``"caf\\udce9.wav"``,
PEP 383), which can be neither printed to a UTF-8 terminal nor stored in a netCDF string.
:func:`escape_filename` turns such a name into valid, printable UTF-8 without losing anything
(:func:`unescape_filename` gives the original back); :func:`printable` is the form for
messages.
"""
from __future__ import annotations

import contextlib
import errno
import os
import secrets
import tempfile
from pathlib import Path
from typing import Iterator, Optional, Union

PathLike = Union[str, "os.PathLike[str]"]

__all__ = ["atomic_path", "atomic_write_text", "atomic_write_bytes", "partial_path",
           "WriteError", "write_error", "free_space", "disk_full", "check_space",
           "fsync_file", "escape_filename", "unescape_filename", "printable",
           "files_fingerprint"]

#: errno values meaning "the file system has no room for this write".
NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})

#: A write that fails without an errno while fewer bytes than this (plus the bytes being
#: written) are free is taken for a full disk.
_SLACK = 16 << 20


_NO_ROOM_TEXT = {errno.ENOSPC: "no space left on device", errno.EDQUOT: "disk quota exceeded",
                 errno.EFBIG: "file too large for the file system"}


def no_room_text(code: int, filename=None) -> str:
    """``"no space left on device while writing FILE"`` (or the quota / file size variant)."""
    text = _NO_ROOM_TEXT.get(code, os.strerror(code))
    return f"{text} while writing {filename}" if filename else text


class WriteError(OSError):
    """Writing an output file failed; ``filename`` is the output, ``errno`` says why.

    ``str()`` is one line for the user: ``no space left on device while writing out.nc``
    (``ENOSPC``), ``disk quota exceeded while writing ...`` (``EDQUOT``), otherwise
    ``cannot write out.nc: <reason>``; ``note`` (optional) is appended after ``; ``, e.g. what
    was kept for resuming.

    >>> str(WriteError(errno.ENOSPC, "No space left on device", "out.nc"))
    'no space left on device while writing out.nc'
    """

    note: Optional[str] = None

    def __str__(self) -> str:
        if self.errno in _NO_ROOM_TEXT:
            text = no_room_text(self.errno, self.filename)
        else:
            text = f"cannot write {self.filename}: {self.strerror}"
        return text + (f"; {self.note}" if self.note else "")

    def __reduce__(self):                  # keep the note through pickling (worker processes)
        return (_rebuild_write_error, (self.errno, self.strerror, self.filename, self.note))


def _rebuild_write_error(code, strerror, filename, note):
    exc = WriteError(code, strerror, filename)
    exc.note = note
    return exc


def free_space(path: PathLike) -> Optional[int]:
    """Bytes that can still be written on the file system holding ``path`` (or its nearest
    existing parent); ``None`` when the file system does not say (``statvfs`` fails or
    reports no blocks at all, as some virtual file systems do).

    Root may also use the blocks reserved for it, so for root the free blocks count.

    >>> free_space("/") > 0          # doctest: +SKIP
    True
    """
    p = Path(path)
    for candidate in (p, *p.parents):
        try:
            st = os.statvfs(candidate)
        except FileNotFoundError:
            continue
        except OSError:
            return None
        if st.f_blocks == 0:
            return None
        blocks = st.f_bfree if hasattr(os, "geteuid") and os.geteuid() == 0 else st.f_bavail
        return int(blocks) * int(st.f_frsize)
    return None


def _no_space_errno(exc: BaseException) -> Optional[int]:
    """The first "no room" errno in ``exc`` or the exceptions it was raised from."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in NO_SPACE:
            return exc.errno
        exc = exc.__cause__ or exc.__context__
    return None


def write_error(exc: BaseException, path: PathLike, nbytes: int = 0) -> BaseException:
    """The exception to raise for ``exc``, raised while writing ``path``.

    * A :class:`WriteError` is returned as it is.
    * An ``OSError`` meaning "no room" (``ENOSPC``, ``EDQUOT``, ``EFBIG``; also when it is the
      cause/context of ``exc``) becomes a :class:`WriteError` with that errno naming ``path``;
      so does an ``OSError`` that names no file (Python's ``write``/``close``). Other
      ``OSError`` (they name their file: a missing folder, a denied permission) are kept.
    * A ``RuntimeError`` (netCDF4/HDF5 and torch report I/O failures so, without an errno) or
      an ``OSError`` with neither errno nor file name (numpy's short write): a
      :class:`WriteError` -- ``ENOSPC`` when fewer than ``nbytes`` + 16 MiB are free on the
      file system of ``path``, else ``EIO`` with the original message. Only pass exceptions
      of write calls.
    * Anything else (``KeyboardInterrupt``, ``ValueError``...) is returned unchanged.

    Use as ``raise write_error(exc, path, nbytes) from exc``.

    >>> e = write_error(RuntimeError("NetCDF: HDF error"), "out.nc")   # doctest: +SKIP
    >>> str(e)                                                         # doctest: +SKIP
    'no space left on device while writing out.nc'
    """
    if isinstance(exc, WriteError):
        return exc
    code = _no_space_errno(exc)
    if code is not None:
        return WriteError(code, os.strerror(code), str(path))
    if isinstance(exc, OSError) and exc.filename is None:
        # Python's write()/close() name no file: name the output
        if exc.errno is not None:
            return WriteError(exc.errno, exc.strerror or str(exc), str(path))
        # numpy's tofile: "OSError: 64575 requested and 24544 written", no errno
    elif isinstance(exc, OSError):
        return exc
    if isinstance(exc, (RuntimeError, OSError)):
        if disk_full(path, nbytes):
            return WriteError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return WriteError(errno.EIO, reason, str(path))
    return exc


def disk_full(path: PathLike, nbytes: int = 0) -> bool:
    """Whether the file system of ``path`` is (nearly) full: fewer than ``nbytes`` + 16 MiB
    free. Used to explain failures that come without an errno (``False`` when it does not
    say)."""
    free = free_space(path)
    return free is not None and free < int(nbytes) + _SLACK


def check_space(path: PathLike, nbytes: int, name: Optional[PathLike] = None) -> None:
    """Raise :class:`WriteError` (``ENOSPC``, naming ``name`` or ``path``) when the file system
    of ``path`` has fewer than ``nbytes`` free bytes (nothing when it does not say)."""
    free = free_space(path)
    if free is not None and free < nbytes:
        raise WriteError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(name or path))


def files_fingerprint(files) -> str:
    """SHA-256 (hex) of ``[(name, path), ...]``: the names and each file's size and
    modification time (``missing`` for files that are gone). Cheap, and it changes when a file
    is replaced or touched: what a resumable run checks before continuing a partial output.

    >>> len(files_fingerprint([("a.wav", "no/such/a.wav")]))
    64
    """
    import hashlib

    h = hashlib.sha256()
    for name, path in files:
        try:
            st = os.stat(path)
            stamp = f"{st.st_size}:{st.st_mtime_ns}"
        except OSError:
            stamp = "missing"
        h.update(f"{name}\0{stamp}\0".encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def partial_path(path: PathLike) -> Path:
    """The name under which `path` is written before it is complete (``<name>.partial``)."""
    path = Path(path)
    return path.with_name(path.name + ".partial")


def fsync_file(path: PathLike) -> None:
    """Flush ``path``'s data to the disk, so that a write error the kernel defers (network
    and thin-provisioned file systems report a full disk only then) is raised here, before the
    file is renamed into place."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _new_temp_file(parent: Path, name: str) -> Path:
    """Create an empty ``parent/.<name>.<random>.tmp`` with the permissions of an ordinary new
    file (``0o666`` less the umask; ``tempfile.mkstemp`` would give ``0o600``, and the renamed
    output would then be readable by its owner only)."""
    for _ in range(tempfile.TMP_MAX):
        tmp = parent / f".{name}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(errno.EEXIST, "no free temporary file name", str(parent))


@contextlib.contextmanager
def atomic_path(path: PathLike, keep_partial: bool = False, *,
                fsync: bool = True) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it to ``path`` when the block succeeds.

    The file is flushed to the disk (``fsync``) before the rename; ``fsync=False`` skips that
    for bulk outputs of many small files, where it would cost more than the work (a full
    local disk is still reported by ``write``/``close``). On any exception (including
    ``KeyboardInterrupt``) the temporary file is removed, unless ``keep_partial`` is true, in
    which case it is left as ``<name>.partial`` so that the caller can resume from it; ``path``
    itself is never touched unless the block completed. A failed write (an ``OSError``: a full
    disk...) always removes the temporary file -- half-written, it is good for nothing -- and
    raises :class:`WriteError` naming ``path``; errors while cleaning up never hide the
    original one.

    Example
    -------
    >>> with atomic_path("out.csv") as tmp:          # doctest: +SKIP
    ...     tmp.write_text("a,b\\n1,2\\n")
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        if _no_space_errno(exc) is None:
            raise
        raise write_error(exc, path) from exc
    if keep_partial:
        tmp = partial_path(path)
    else:
        try:
            tmp = _new_temp_file(parent, path.name)
        except OSError as exc:
            if _no_space_errno(exc) is None:
                raise
            raise write_error(exc, path) from exc
    try:
        yield tmp
        if fsync:
            fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException as exc:
        failed_write = isinstance(exc, OSError) or _no_space_errno(exc) is not None
        if not keep_partial or failed_write:
            with contextlib.suppress(OSError):
                tmp.unlink()
        if failed_write:
            mapped = write_error(exc, path)
            if mapped is not exc:
                raise mapped from exc
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
