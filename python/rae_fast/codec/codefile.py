"""The code file: representations of a set of audio files and everything needed to decode them.

One compact binary file (suffix ``.raec``), written as a stream and renamed into place when
complete::

    magic        8 bytes   b"RAECODE" + format version (1)
    header       u32 length (little endian) + UTF-8 JSON object: model hash, front end,
                 representation size, code dtype, side-information names, window hop, ...
    records      one per audio file:
                 b"C" + u32 length + UTF-8 JSON (file name, original rate, samples at the
                 model's rate, instances) + codes (instances x R values of the code dtype)
                 + side information (instances x 3 values of the code dtype: ref_db,
                 norm_db_min, norm_db_max)
    footer       b"E" + u64 number of records + SHA-256 (32 bytes) of every byte before it

A file without its footer (cut short: an interrupted copy, a full disk) or whose hash does not
match is refused by :func:`read_codes` with a message that says so. :class:`CodeWriter`
appends to ``<name>.partial``; after an interruption a writer with the same header resumes
after the last complete record (an incomplete one is cut off).
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import struct
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Union

import numpy as np

from .._io import WriteError, check_space, fsync_file, partial_path, write_error

__all__ = ["MAGIC", "CODE_DTYPES", "CodeHeader", "CodeRecord", "CodeWriter", "read_codes",
           "iter_codes", "CodeFileError"]

PathLike = Union[str, "os.PathLike[str]"]

MAGIC = b"RAECODE\x01"
#: Dtypes a code can be stored in.
CODE_DTYPES = ("float16", "float32")
#: Side information stored per instance (the offsets of rae_fast.preprocessing).
SIDE = ("ref_db", "norm_db_min", "norm_db_max")
_RECORD, _END = b"C", b"E"
_U32, _U64 = struct.Struct("<I"), struct.Struct("<Q")
_FOOTER_LEN = 1 + 8 + 32
_MAX_JSON = 1 << 26


class CodeFileError(ValueError):
    """A code file that cannot be read: not a code file, truncated, or corrupt."""


@dataclasses.dataclass
class CodeHeader:
    """What a code file says about all of its records (see the module docstring).

    ``model_sha256`` is the content hash of the encoder (``rae_fast.content_sha256``); the
    decoder of the same weights records it as ``rae_fast.encoder_sha256``.
    """
    model_sha256: str
    frontend: Dict[str, Any]
    representation_size: int
    dtype: str = "float16"
    hop_samples: int = 0
    segmentation: str = "windows"
    model_file: str = ""
    inputs_sha256: str = ""
    created_by: str = ""
    side: List[str] = dataclasses.field(default_factory=lambda: list(SIDE))

    def __post_init__(self):
        if self.dtype not in CODE_DTYPES:
            raise ValueError(f"dtype must be one of {CODE_DTYPES}, got {self.dtype!r}")
        if int(self.representation_size) < 1:
            raise ValueError("representation_size must be >= 1")
        self.representation_size = int(self.representation_size)
        self.side = list(self.side)

    def to_json(self) -> bytes:
        d = dataclasses.asdict(self)
        d["format"] = "rae_fast.codes"
        return json.dumps(d, sort_keys=True).encode("utf-8")

    @classmethod
    def from_json(cls, blob: bytes) -> "CodeHeader":
        d = json.loads(blob.decode("utf-8"))
        if not isinstance(d, dict) or d.pop("format", None) != "rae_fast.codes":
            raise CodeFileError("the header is not a rae_fast code header")
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    @property
    def itemsize(self) -> int:
        return np.dtype(self.dtype).itemsize

    def bits_per_code(self) -> int:
        """Bits of one representation (without side information)."""
        return 8 * self.itemsize * self.representation_size


@dataclasses.dataclass
class CodeRecord:
    """The codes of one audio file: ``codes`` ``(instances, R)`` and ``side``
    ``{name: (instances,)}`` (float64), plus the file's ``name``, original rate ``sr`` and
    length ``samples`` at the model's rate."""
    name: str
    sr: int
    samples: int
    codes: np.ndarray
    side: Dict[str, np.ndarray]
    label: Optional[str] = None

    @property
    def n_instances(self) -> int:
        return int(self.codes.shape[0])


def _encode_record(rec: CodeRecord, header: CodeHeader) -> bytes:
    codes = np.asarray(rec.codes)
    if codes.ndim != 2 or codes.shape[1] != header.representation_size or codes.shape[0] < 1:
        raise ValueError(f"codes must have shape (k >= 1, {header.representation_size}), got "
                         f"{codes.shape}")
    k = codes.shape[0]
    side = np.stack([np.asarray(rec.side[n], dtype=np.float64).reshape(-1) for n in header.side],
                    axis=1) if header.side else np.zeros((k, 0))
    if side.shape[0] != k:
        raise ValueError(f"side information must have {k} rows, got {side.shape[0]}")
    meta = {"file": rec.name, "sr": int(rec.sr), "samples": int(rec.samples), "instances": k}
    if rec.label is not None:
        meta["label"] = rec.label
    mblob = json.dumps(meta, sort_keys=True).encode("utf-8", "surrogateescape")
    dt = np.dtype(header.dtype).newbyteorder("<")
    return b"".join([_RECORD, _U32.pack(len(mblob)), mblob, codes.astype(dt).tobytes(),
                     side.astype(dt).tobytes()])


class _Reader:
    """Sequential reads that know where a file was cut short."""

    def __init__(self, fh, path: Path):
        self.fh, self.path, self.h = fh, path, hashlib.sha256()

    def take(self, n: int, what: str) -> bytes:
        data = self.fh.read(n)
        if len(data) != n:
            raise CodeFileError(f"{self.path} is truncated (it ends inside {what}): the file was "
                                "cut short, e.g. by an interrupted copy or a full disk; encode "
                                "again")
        self.h.update(data)
        return data


def _read_header(r: _Reader) -> CodeHeader:
    if r.take(len(MAGIC), "the file signature") != MAGIC:
        raise CodeFileError(f"{r.path} is not a rae_fast code file (wrong signature)")
    n = _U32.unpack(r.take(4, "the header"))[0]
    if n > _MAX_JSON:
        raise CodeFileError(f"{r.path} is corrupt (header of {n} bytes)")
    try:
        return CodeHeader.from_json(r.take(n, "the header"))
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        if isinstance(exc, CodeFileError):
            raise
        raise CodeFileError(f"{r.path}: the header is not valid ({exc})") from None


def _read_record(r: _Reader, header: CodeHeader) -> CodeRecord:
    n = _U32.unpack(r.take(4, "a record"))[0]
    if n > _MAX_JSON:
        raise CodeFileError(f"{r.path} is corrupt (record of {n} bytes)")
    blob = r.take(n, "a record")          # a file cut short says so, not "corrupt"
    try:
        meta = json.loads(blob.decode("utf-8", "surrogateescape"))
        k = int(meta["instances"])
    except (ValueError, KeyError, TypeError) as exc:
        raise CodeFileError(f"{r.path} is corrupt (a record cannot be read: {exc})") from None
    if not 1 <= k <= (1 << 24):
        raise CodeFileError(f"{r.path} is corrupt (a record of {k} instances)")
    dt = np.dtype(header.dtype).newbyteorder("<")
    R, S = header.representation_size, len(header.side)
    codes = np.frombuffer(r.take(k * R * dt.itemsize, "a record's codes"), dtype=dt)
    side = np.frombuffer(r.take(k * S * dt.itemsize, "a record's side information"), dtype=dt)
    side = side.reshape(k, S).astype(np.float64)
    return CodeRecord(str(meta["file"]), int(meta["sr"]), int(meta["samples"]),
                      codes.reshape(k, R).astype(np.float32),
                      {name: side[:, i] for i, name in enumerate(header.side)},
                      meta.get("label"))


def iter_codes(path: PathLike) -> Iterator[Any]:
    """Yield the :class:`CodeHeader`, then every :class:`CodeRecord` of a complete code file,
    streaming (memory stays flat). The footer's count and hash are checked at the end: a file
    cut short or altered raises :class:`CodeFileError` (possibly after some records)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"code file {path} does not exist")
    with open(path, "rb") as fh:
        r = _Reader(fh, path)
        header = _read_header(r)
        yield header
        count = 0
        while True:
            tag = r.fh.read(1)
            if not tag:
                raise CodeFileError(f"{path} is truncated (no end marker after {count} records): "
                                    "the file was cut short, e.g. by an interrupted copy or a "
                                    "full disk; encode again")
            if tag == _END:
                digest = r.h.hexdigest()
                r.h.update(tag)
                tail = fh.read(_FOOTER_LEN - 1)
                if len(tail) != _FOOTER_LEN - 1:
                    raise CodeFileError(f"{path} is truncated (inside the end marker)")
                n = _U64.unpack(tail[:8])[0]
                if n != count or tail[8:].hex() != digest or fh.read(1):
                    raise CodeFileError(f"{path} is corrupt (its checksum or record count does "
                                        "not match its contents)")
                return
            r.h.update(tag)
            if tag != _RECORD:
                raise CodeFileError(f"{path} is corrupt (unexpected byte after {count} records)")
            yield _read_record(r, header)
            count += 1


def read_codes(path: PathLike):
    """``(header, [records])`` of a complete code file (see :func:`iter_codes`).

    >>> header, records = read_codes("codes.raec")          # doctest: +SKIP
    >>> records[0].codes.shape                              # doctest: +SKIP
    (1, 512)
    """
    it = iter_codes(path)
    header = next(it)
    return header, list(it)


class CodeWriter:
    """Append records to ``<path>.partial``; :meth:`close` writes the footer and renames it to
    ``path``. With ``resume`` and a partial file of the same header, continues after its last
    complete record (:attr:`done` holds their file names).

    A failed write raises :class:`~rae_fast._io.WriteError` naming ``path``; the partial file
    is kept for resuming up to its last complete record (a record is written in one piece, and
    a resumed writer cuts off an incomplete one). ``abort()`` (or an exception in the ``with``
    block) keeps the partial file unless ``keep_partial=False``.
    """

    def __init__(self, path: PathLike, header: CodeHeader, resume: bool = True,
                 keep_partial: bool = True):
        self.path = Path(path)
        if self.path.is_dir():
            raise IsADirectoryError(f"output path {self.path} is a directory")
        self.partial = partial_path(self.path)
        self.header = header
        self.keep_partial = keep_partial
        self.done: List[str] = []
        self.resumed = False
        self._hash = hashlib.sha256()
        self._closed = False
        self.partial.parent.mkdir(parents=True, exist_ok=True)
        head = MAGIC + _U32.pack(len(header.to_json())) + header.to_json()
        if resume and self.partial.is_file() and self._try_resume(head):
            return
        try:
            self._fh = open(self.partial, "wb")
            self._write(head)
        except OSError as exc:
            self._fh = None
            raise write_error(exc, self.path) from exc

    def _try_resume(self, head: bytes) -> bool:
        good = 0
        names: List[str] = []
        with open(self.partial, "rb") as fh:
            if fh.read(len(head)) != head:
                return False
            r = _Reader(fh, self.partial)
            good = len(head)
            while True:
                tag = fh.read(1)
                if tag != _RECORD:
                    break
                try:
                    rec = _read_record(r, self.header)
                except CodeFileError:
                    break
                names.append(rec.name)
                good = fh.tell()
        with open(self.partial, "r+b") as fh:
            fh.truncate(good)
        self._fh = open(self.partial, "ab")
        with open(self.partial, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                self._hash.update(block)
        self.done = names
        self.resumed = True
        return True

    def _write(self, data: bytes) -> None:
        try:
            check_space(self.partial, len(data) + (64 << 10), self.path)
            self._fh.write(data)
            self._fh.flush()
        except WriteError:
            raise
        except OSError as exc:
            raise write_error(exc, self.path, len(data)) from exc
        self._hash.update(data)

    @property
    def n_records(self) -> int:
        return len(self.done)

    def append(self, record: CodeRecord) -> None:
        if self._closed:
            raise ValueError(f"the writer for {self.path} is closed")
        blob = _encode_record(record, self.header)
        self._write(blob)
        self.done.append(record.name)

    def close(self) -> Path:
        if self._closed:
            return self.path
        try:
            footer = _END + _U64.pack(len(self.done))
            digest = self._hash.digest()
            self._write(footer + digest)
            self._fh.close()
            fsync_file(self.partial)
            os.replace(self.partial, self.path)
        except BaseException:
            self.abort()
            raise
        self._closed = True
        return self.path

    def abort(self, keep_partial: Optional[bool] = None) -> None:
        if self._closed:
            return
        self._closed = True
        keep = self.keep_partial if keep_partial is None else keep_partial
        with contextlib.suppress(OSError):
            if self._fh is not None:
                self._fh.close()
        if not keep:
            with contextlib.suppress(OSError):
                self.partial.unlink()

    def __enter__(self) -> "CodeWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
