"""Audio files in, samples out: reading, headers, channels, resampling and fixed length.

This module is the first step of auDeep's preprocessing (``audeep/backend/preprocessing.py``):

1. read the file with libsndfile (WAV, FLAC, OGG/Vorbis, AIFF, ... ; always 2-D), after
   checking that it is complete and intact (WAV data chunk; every Ogg page's checksum and
   sequence number), and comparing the number of samples decoded with the number the header
   announces (a damaged Ogg file otherwise decodes silently shorter);
2. fuse the channels (``mean`` / ``left`` / ``right`` / ``diff``; mono stays as it is);
3. optionally resample to ``sr`` (soxr, high quality) - an extension, auDeep keeps the rate;
4. optionally cut / zero-pad to ``fixed_length`` seconds, at the end or centred
   (offset ``(n - L) // 2``).

What follows (features, chunks, normalisation, whole collections) is
:mod:`rae_fast.preprocessing`; which files make a collection is :mod:`rae_fast.layouts`.

>>> import numpy as np
>>> from rae_fast.audio import fix_length
>>> fix_length(np.arange(5.0), 3, center=True).tolist()
[1.0, 2.0, 3.0]
"""
from __future__ import annotations

import dataclasses
import logging
import os
import struct
import zlib
from pathlib import Path
from typing import Optional, Tuple, Union

import numpy as np

from ._io import printable
from ._validation import check_int

PathLike = Union[str, "os.PathLike[str]"]

__all__ = ["CHANNEL_MODES", "DECODE_TOLERANCE", "AudioError", "AudioInfo", "audio_info",
           "read_audio", "fuse_channels", "fix_length", "resample", "load_audio"]

log = logging.getLogger(__name__)

#: auDeep's channel fusion strategies.
CHANNEL_MODES = ("mean", "left", "right", "diff")

class AudioError(ValueError):
    """An audio file that cannot be used: not audio, empty, truncated, corrupt, NaN samples,
    too short.

    ``str(err)`` starts with the file name (printable: bytes of a name that are not UTF-8 show
    as ``\\xNN``, see :func:`rae_fast.layouts.escape_filename`); ``err.path`` (the real
    path) and ``err.reason`` hold the parts.
    """

    def __init__(self, path: PathLike, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{printable(self.path)}: {reason}")

    def __reduce__(self):
        # picklable (results of other processes, e.g. Ray workers, carry it back)
        return (type(self), (self.path, self.reason))


def _sf_name(path: Path):
    """The name to give libsndfile: the file system's bytes on POSIX, so that names that are
    not UTF-8 open too (soundfile would encode a ``str`` strictly and fail)."""
    return str(path) if os.name == "nt" else os.fsencode(path)


@dataclasses.dataclass(frozen=True)
class AudioInfo:
    """Header information of one audio file (see :func:`audio_info`).

    ``sr`` in Hz, ``frames`` samples per channel, ``duration`` in seconds.
    """
    path: Path
    sr: int
    frames: int
    channels: int
    duration: float
    format: str
    subtype: str


# ----------------------------------------------------------------------- integrity checks

def _riff_truncation(path: Path) -> Optional[str]:
    """For RIFF/WAVE files: a reason string when the data chunk is cut short, else None."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            pos = 12
            for _ in range(10000):
                fh.seek(pos)
                hdr = fh.read(8)
                if len(hdr) < 8:
                    return "has no complete 'data' chunk (truncated file)"
                cid, csize = hdr[:4], struct.unpack("<I", hdr[4:])[0]
                if cid == b"data":
                    avail = size - (pos + 8)
                    if 0 < csize < 0xFFFFFFFF and csize > avail:
                        return (f"is truncated: its header announces {csize} bytes of audio but "
                                f"only {avail} are present")
                    return None
                pos += 8 + csize + (csize & 1)
                if pos > size:
                    return f"is truncated inside its {cid.decode('latin-1')!r} chunk"
    except OSError:
        return None
    return None


# Ogg's page checksum is the non-reflected CRC-32 (polynomial 0x04C11DB7, initial value 0, no
# final xor) of the page with its checksum field zeroed. zlib computes the reflected variant in
# C: on bit-reversed bytes it gives the bit-reversed Ogg CRC.
_BITREV = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def _ogg_page_crc(rev: memoryview, start: int, end: int) -> int:
    """Ogg CRC of the page ``[start, end)``; ``rev`` is the file with every byte bit-reversed."""
    crc = zlib.crc32(rev[start:start + 22], 0xFFFFFFFF)   # zlib: internal initial value 0
    crc = zlib.crc32(b"\0\0\0\0", crc)                  # the checksum field, zeroed
    crc = zlib.crc32(rev[start + 26:end], crc) ^ 0xFFFFFFFF
    return int.from_bytes(crc.to_bytes(4, "little").translate(_BITREV), "big")


def _ogg_damage(data: bytes) -> Optional[str]:
    """For a whole Ogg file: a reason when a page is damaged, missing or cut off, else None.

    Checks every page's checksum and that page sequence numbers (per logical stream) follow
    each other, as libogg would, but says so instead of skipping the page: a decoder drops a
    damaged page silently and returns a shorter signal. Bytes after the last complete page
    (e.g. a tag appended by a tagger) are ignored, as libogg ignores them.
    """
    n = len(data)
    mv = memoryview(data.translate(_BITREV))
    pos, index, last_flags = 0, 0, None
    seqs: dict = {}
    while pos < n:
        if data[pos:pos + 4] != b"OggS":
            nxt = data.find(b"OggS", pos + 1)
            if nxt < 0 and last_flags is not None:
                break
            return (f"is corrupt: {n - pos if nxt < 0 else nxt - pos} bytes at byte {pos} are "
                    "not an Ogg page (a damaged page header)")
        if pos + 27 > n:
            return "is truncated: its last Ogg page is incomplete"
        hdr_len = 27 + data[pos + 26]
        if pos + hdr_len > n:
            return "is truncated: its last Ogg page is incomplete"
        end = pos + hdr_len + sum(data[pos + 27:pos + hdr_len])
        if end > n:
            return "is truncated: its last Ogg page is incomplete"
        if _ogg_page_crc(mv, pos, end) != int.from_bytes(data[pos + 22:pos + 26], "little"):
            return (f"is corrupt: Ogg page {index} (at byte {pos}) fails its checksum; a decoder "
                    "would skip it and return a shorter signal")
        serial, seq = struct.unpack_from("<II", data, pos + 14)
        prev = seqs.get(serial)
        if prev is not None and seq != prev + 1:
            return (f"is corrupt: Ogg page(s) are missing (the page sequence number jumps from "
                    f"{prev} to {seq} at byte {pos})")
        seqs[serial] = seq
        last_flags = data[pos + 5]
        pos = end
        index += 1
    if last_flags is None:
        return "is truncated: no complete Ogg page found"
    if not last_flags & 0x04:
        return "is truncated: the Ogg stream has no end-of-stream page"
    return None


def _ogg_problem(path: Path) -> Optional[str]:
    """For Ogg files: :func:`_ogg_damage` of the whole file (no decoding: ~0.15 ms for a
    5-s clip), else None."""
    try:
        with open(path, "rb") as fh:
            if fh.read(4) != b"OggS":
                return None
            fh.seek(0)
            data = fh.read()
    except OSError:
        return None
    return _ogg_damage(data)


def _check_complete(path: Path) -> None:
    """Raise :class:`AudioError` for a WAV file whose data chunk is cut short or an Ogg file
    with a damaged, missing or incomplete page."""
    reason = _riff_truncation(path) or _ogg_problem(path)
    if reason:
        raise AudioError(path, reason)


def _open_error(path: Path, exc: Exception) -> AudioError:
    if not path.exists():
        return AudioError(path, "does not exist")
    if path.is_dir():
        return AudioError(path, "is a directory, not an audio file")
    if path.stat().st_size == 0:
        return AudioError(path, "is empty (0 bytes)")
    msg = getattr(exc, "error_string", None) or str(exc)
    return AudioError(path, f"is not a readable audio file ({msg.strip()})")


# ------------------------------------------------------------------------------- headers
# Reading a header through libsndfile costs ~0.6 ms for Ogg Vorbis (it sets up the decoder);
# the three common formats are parsed here directly in a few microseconds instead. Anything
# unusual returns None and goes through libsndfile.

_WAV_SUBTYPES = {(1, 8): "PCM_U8", (1, 16): "PCM_16", (1, 24): "PCM_24", (1, 32): "PCM_32",
                 (3, 32): "FLOAT", (3, 64): "DOUBLE", (6, 8): "ALAW", (7, 8): "ULAW"}


def _wav_header(head: bytes, size: int):
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    pos, fmt = 12, None
    while pos + 8 <= len(head):
        cid, csize = head[pos:pos + 4], struct.unpack("<I", head[pos + 4:pos + 8])[0]
        if cid == b"fmt " and csize >= 16 and pos + 24 <= len(head):
            tag, ch, sr, _, align, bits = struct.unpack("<HHIIHH", head[pos + 8:pos + 24])
            ext = tag == 0xFFFE
            if ext:
                if csize < 40 or pos + 34 > len(head):
                    return None
                tag = struct.unpack("<H", head[pos + 32:pos + 34])[0]
            fmt = (tag, ch, sr, align, bits, ext)
        elif cid == b"data":
            if fmt is None or csize in (0, 0xFFFFFFFF):
                return None
            tag, ch, sr, align, bits, ext = fmt
            subtype = _WAV_SUBTYPES.get((tag, bits))
            if subtype is None or ch < 1 or sr < 1 or align != ch * bits // 8:
                return None
            data = min(csize, size - pos - 8)
            return sr, data // align, ch, "WAVEX" if ext else "WAV", subtype
        pos += 8 + csize + (csize & 1)
    return None


def _flac_header(head: bytes):
    if len(head) < 42 or head[:4] != b"fLaC" or head[4] & 0x7F != 0:
        return None
    bits = int.from_bytes(head[18:26], "big")
    sr = bits >> 44
    ch = ((bits >> 41) & 0x7) + 1
    bps = ((bits >> 36) & 0x1F) + 1
    frames = bits & ((1 << 36) - 1)
    if sr == 0 or frames == 0:
        return None
    subtype = {8: "PCM_S8", 16: "PCM_16", 24: "PCM_24"}.get(bps)
    return (sr, frames, ch, "FLAC", subtype) if subtype else None


def _vorbis_starts_at_zero(fh, size: int, half_block: int) -> bool:
    """True when the first audio page's granule position is no more than its packets can
    decode from sample 0 (``half_block`` = blocksize_1 / 2 samples per packet at most).

    A stream cut out of a longer one (a recorded broadcast) starts at a later granule
    position; libsndfile then subtracts that start, which needs the decoder: such files (and
    anything unusual) go through libsndfile.
    """
    pos, prev_granule = 0, None
    for _ in range(256):
        fh.seek(pos)
        hdr = fh.read(27 + 255)
        if len(hdr) < 27 or hdr[:4] != b"OggS" or len(hdr) < 27 + hdr[26]:
            return False
        lacing = hdr[27:27 + hdr[26]]
        granule = struct.unpack_from("<q", hdr, 6)[0]
        if granule not in (0, -1):            # header pages have 0, pages with no end: -1
            packets = sum(1 for v in lacing if v < 255)
            if prev_granule == 0 and not hdr[5] & 0x01:
                packets -= 1   # most likely the first audio page: its first packet gives 0
            return granule <= packets * half_block
        prev_granule = granule
        pos += 27 + len(lacing) + sum(lacing)
        if pos >= size:
            return False
    return False


def _ogg_vorbis_header(path: Path, head: bytes, size: int):
    if len(head) < 58 or head[:4] != b"OggS" or not head[5] & 0x02:  # first page: BOS
        return None
    n_seg = head[26]
    pkt = 27 + n_seg
    if head[pkt:pkt + 7] != b"\x01vorbis" or len(head) < pkt + 30:
        return None
    ch = head[pkt + 11]
    sr = struct.unpack("<I", head[pkt + 12:pkt + 16])[0]
    half_block = (1 << (head[pkt + 28] >> 4)) // 2
    serial = head[14:18]
    with open(path, "rb") as fh:
        tail_len = min(size, 70000)
        fh.seek(size - tail_len)
        tail = fh.read(tail_len)
        pos = tail.rfind(b"OggS")
        if pos < 0 or pos + 27 > len(tail) or tail[pos + 14:pos + 18] != serial:
            return None
        granule = struct.unpack("<q", tail[pos + 6:pos + 14])[0]
        if ch < 1 or sr < 1 or granule <= 0 or not _vorbis_starts_at_zero(fh, size, half_block):
            return None
    return sr, granule, ch, "OGG", "VORBIS"


def _fast_header(path: Path):
    """``(sr, frames, channels, format, subtype)`` parsed directly, or None."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return None
    if head[:4] == b"RIFF":
        return _wav_header(head, size)
    if head[:4] == b"fLaC":
        return _flac_header(head)
    if head[:4] == b"OggS":
        return _ogg_vorbis_header(path, head, size)
    return None


# ------------------------------------------------------------------------------- reading

def audio_info(path: PathLike) -> AudioInfo:
    """Read only the header of an audio file.

    WAV, FLAC and Ogg Vorbis headers are parsed directly (microseconds); other formats
    through libsndfile. Raises :class:`AudioError` (a ``ValueError`` naming the file) for
    files that are not audio, empty, missing or announced as truncated, and for Ogg files
    with a damaged or missing page (every page's checksum is checked: no decoding, about
    0.15 ms for a 5-s clip). Other damage inside the audio data shows up only when decoding
    (:func:`read_audio`).

    >>> info = audio_info("dog.wav")                    # doctest: +SKIP
    >>> info.sr, info.channels, round(info.duration, 2)  # doctest: +SKIP
    (44100, 1, 5.0)
    """
    import soundfile as sf

    path = Path(path)
    fast = _fast_header(path) if path.is_file() else None
    if fast is not None:
        sr, frames, channels, fmt, subtype = fast
    else:
        try:
            info = sf.info(_sf_name(path))
        except Exception as exc:  # libsndfile errors, OSError
            raise _open_error(path, exc) from None
        sr, frames, channels = int(info.samplerate), int(info.frames), int(info.channels)
        fmt, subtype = str(info.format), str(info.subtype)
    _check_complete(path)
    if frames <= 0:
        raise AudioError(path, "contains no audio samples (empty or truncated)")
    return AudioInfo(path, int(sr), int(frames), int(channels), frames / float(sr), fmt,
                     subtype)


#: Formats whose header count is an estimate, not a promise (MP3: encoder delay and padding,
#: or a length guessed from the bit rate): the decoded length is not checked against it.
_ESTIMATED_LENGTH_FORMATS = frozenset({"MP3", "MPEG"})
#: Samples that a decoder may deliver fewer than the header announces before the file counts
#: as corrupt. Every intact file we have seen (400 ESC-10 clips; WAV, FLAC, Ogg Vorbis and
#: Opus from libsndfile, oggenc, sox and opusenc) decodes to exactly the announced length;
#: this only leaves room for an encoder whose last granule position overshoots a little.
DECODE_TOLERANCE = 64


def read_audio(path: PathLike, dtype=np.float32) -> Tuple[np.ndarray, int]:
    """Decode a whole file: ``(y, sr)`` with ``y`` of shape ``(n_channels, n_samples)``.

    Samples are floats in [-1, 1] (float32 by default). Raises :class:`AudioError` naming the
    file for files that are not audio, empty, truncated (WAV data chunk or Ogg stream cut
    short), corrupt (an Ogg page that fails its checksum or is missing, FLAC decoding errors,
    or fewer samples decoded than the header announces - more than
    :data:`DECODE_TOLERANCE` short; not checked for MP3, whose header length is an
    estimate) or that hold NaN/Inf samples. File names that are not valid UTF-8 are fine.

    >>> y, sr = read_audio("stereo.flac")        # doctest: +SKIP
    >>> y.shape                                   # doctest: +SKIP
    (2, 220500)
    """
    import soundfile as sf

    path = Path(path)
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    if path.is_file():
        _check_complete(path)
    try:
        with sf.SoundFile(_sf_name(path)) as f:
            announced, fmt, sr = int(f.frames), str(f.format), int(f.samplerate)
            data = f.read(dtype=dtype.name, always_2d=True)
    except Exception as exc:
        if isinstance(exc, (sf.LibsndfileError,)) and "Error opening" not in str(exc):
            raise AudioError(path, f"cannot be decoded, it is corrupt or truncated ({exc})") \
                from None
        raise _open_error(path, exc) from None
    if data.shape[0] == 0:
        raise AudioError(path, "contains no audio samples (empty or truncated)")
    if (fmt not in _ESTIMATED_LENGTH_FORMATS and 0 < announced < 1 << 62
            and data.shape[0] < announced - DECODE_TOLERANCE):
        raise AudioError(path, f"decoded {data.shape[0]} samples, the header announces "
                               f"{announced}: the file is corrupt")
    y = np.ascontiguousarray(data.T)
    if not np.isfinite(y).all():
        raise AudioError(path, "contains NaN or Inf samples")
    return y, sr


def fuse_channels(y: np.ndarray, mode: str = "mean") -> np.ndarray:
    """Mix ``(n_channels, n)`` audio down to ``(n,)`` with auDeep's strategies.

    ``mean``: average of all channels; ``left``: channel 0; ``right``: channel 1; ``diff``:
    channel 0 minus channel 1. A 1-D or single-channel signal is returned unchanged whatever
    the mode (as auDeep does); ``right``/``diff`` need at least two channels otherwise.

    >>> fuse_channels(np.array([[1.0, 2.0], [3.0, 6.0]]), "diff").tolist()
    [-2.0, -4.0]
    """
    if not isinstance(mode, str) or mode.lower() not in CHANNEL_MODES:
        raise ValueError(f"channels must be one of {CHANNEL_MODES}, got {mode!r}")
    mode = mode.lower()
    y = np.asarray(y)
    if y.ndim == 1:
        return y
    if y.ndim != 2:
        raise ValueError(f"y must be (n_channels, n_samples), got shape {y.shape}")
    if y.shape[0] == 1:
        return np.ascontiguousarray(y[0])
    if mode == "mean":
        return np.ascontiguousarray(y.mean(axis=0, dtype=np.float64).astype(y.dtype))
    if mode == "left":
        return np.ascontiguousarray(y[0])
    if mode == "right":
        return np.ascontiguousarray(y[1])
    return np.ascontiguousarray(y[0] - y[1])


def fix_length(y: np.ndarray, length: int, center: bool = False) -> np.ndarray:
    """Cut or zero-pad the last axis to exactly ``length`` samples.

    At the end by default; ``center=True`` cuts / pads equally at both ends (auDeep's
    ``--center-fixed``: offset ``(n - length) // 2`` when cutting, ``(length - n) // 2``
    zeros in front when padding).

    >>> fix_length(np.arange(5.0), 3, center=True).tolist()
    [1.0, 2.0, 3.0]
    >>> fix_length(np.arange(2.0), 5, center=True).tolist()
    [0.0, 0.0, 1.0, 0.0, 0.0]
    """
    length = check_int(length, "length", 1)
    y = np.asarray(y)
    n = y.shape[-1]
    if n >= length:
        off = (n - length) // 2 if center else 0
        return np.ascontiguousarray(y[..., off:off + length])
    before = (length - n) // 2 if center else 0
    pad = [(0, 0)] * (y.ndim - 1) + [(before, length - n - before)]
    return np.pad(y, pad, mode="constant")


def resample(y: np.ndarray, sr: float, target_sr: float) -> np.ndarray:
    """Resample along the last axis with soxr (high quality); same array when rates agree.

    Output length is ``round(n * target_sr / sr)``.

    >>> resample(np.zeros(44100, np.float32), 44100, 16000).shape
    (16000,)
    """
    import soxr

    if sr <= 0 or target_sr <= 0:
        raise ValueError(f"sample rates must be > 0, got {sr} -> {target_sr}")
    if sr == target_sr:
        return y
    y = np.asarray(y)
    out = soxr.resample(np.ascontiguousarray(y.T), float(sr), float(target_sr), quality="HQ")
    return np.ascontiguousarray(out.T, dtype=y.dtype)


def load_audio(path: PathLike, sr: Optional[float] = None, channels: str = "mean",
               fixed_length: Optional[float] = None, center_fixed: bool = False,
               dtype=np.float32) -> Tuple[np.ndarray, int]:
    """Read, fuse channels, resample and fix the length: ``(y, sr)`` with ``y`` 1-D.

    Parameters
    ----------
    path : str or Path
        Any file libsndfile reads (WAV, FLAC, OGG, AIFF, ...).
    sr : float, optional
        Target rate in Hz (soxr); ``None`` keeps the file's rate.
    channels : {"mean", "left", "right", "diff"}
        Channel fusion (:func:`fuse_channels`).
    fixed_length : float, optional
        Length in seconds (``int(fixed_length * sr)`` samples), cut or zero-padded.
    center_fixed : bool
        Centre the cut / padding instead of acting at the end.

    Returns
    -------
    y : ndarray, float32 ``(n_samples,)``
    sr : int, the sampling rate of ``y`` in Hz

    >>> y, sr = load_audio("1-100032-A.ogg", fixed_length=5.0, center_fixed=True)  # doctest: +SKIP
    >>> y.shape, sr                                                              # doctest: +SKIP
    ((220500,), 44100)
    """
    y2, file_sr = read_audio(path, dtype=dtype)
    y = fuse_channels(y2, channels)
    out_sr = file_sr
    if sr is not None:
        y = resample(y, file_sr, sr)
        out_sr = int(round(sr))
    if fixed_length is not None:
        n = int(fixed_length * out_sr)
        if n < 1:
            raise ValueError(f"fixed_length = {fixed_length} s is shorter than one sample")
        y = fix_length(y, n, center_fixed)
    return y, out_sr


