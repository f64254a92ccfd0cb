"""Audio in, features out: loading, channels, fixed length, chunks, and whole collections.

The order of operations is auDeep's (``audeep/backend/preprocessing.py``), so that features
match auDeep's for the same settings:

1. read the file with libsndfile (WAV, FLAC, OGG/Vorbis, AIFF, ... ; always 2-D);
2. fuse the channels (``mean`` / ``left`` / ``right`` / ``diff``; mono stays as it is);
3. optionally resample to ``sr`` (soxr, high quality) - an extension, auDeep keeps the rate;
4. optionally cut / zero-pad to ``fixed_length`` seconds, at the end or centred
   (offset ``(n - L) // 2``);
5. pre-emphasis, power spectrum, mel filterbank, dB relative to the clip's maximum with
   clipping (:func:`rae_fast.spectrogram`, whole clip), with auDeep's +-1 sample correction
   of the window overlap when ``fixed_length`` is set;
6. split the frames into ``chunk_count`` chunks of ``int(sr * chunk_length) // hop`` frames
   (too few complete chunks is an error);
7. mean-normalise each chunk to [-1, 1] (:func:`rae_fast.audeep_normalize`).

Features are returned time-major, ``(n_chunks, n_frames, n_bands)``, as auDeep stores them.
:func:`preprocess` runs this over a whole collection with worker threads and streams the
instances to a netCDF file (:class:`rae_fast.dataset.DataSetWriter`) that resumes after an
interruption.

>>> import numpy as np
>>> from rae_fast.audio import FeatureSettings, compute_features
>>> y = np.random.default_rng(0).standard_normal(44100).astype(np.float32)
>>> compute_features(y, 44100, FeatureSettings(chunk_length=0.5, chunk_count=2)).shape
(2, 12, 128)
"""
from __future__ import annotations

import collections
import dataclasses
import hashlib
import logging
import math
import numbers
import os
import struct
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

PathLike = Union[str, "os.PathLike[str]"]

__all__ = ["CHANNEL_MODES", "AUDIO_EXTENSIONS", "AudioError", "AudioInfo", "audio_info",
           "read_audio", "fuse_channels", "fix_length", "resample", "load_audio",
           "chunk_frames", "FeatureSettings", "compute_features", "extract_features",
           "PreprocessResult", "preprocess", "is_audio_file"]

log = logging.getLogger(__name__)

#: auDeep's channel fusion strategies.
CHANNEL_MODES = ("mean", "left", "right", "diff")

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


class AudioError(ValueError):
    """An audio file that cannot be used: not audio, empty, truncated, NaN samples, too short.

    ``str(err)`` starts with the file name; ``err.path`` and ``err.reason`` hold the parts.
    """

    def __init__(self, path: PathLike, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


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


def _ogg_truncation(path: Path) -> Optional[str]:
    """For Ogg files: a reason string when the last page is incomplete or not end-of-stream."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            if fh.read(4) != b"OggS":
                return None
            tail_len = min(size, 1 << 17)
            fh.seek(size - tail_len)
            tail = fh.read(tail_len)
    except OSError:
        return None
    pos = tail.rfind(b"OggS")
    while pos >= 0:
        if pos + 27 <= len(tail):
            flags, n_seg = tail[pos + 5], tail[pos + 26]
            if pos + 27 + n_seg <= len(tail):
                body = sum(tail[pos + 27:pos + 27 + n_seg])
                end = pos + 27 + n_seg + body
                if end > len(tail):
                    return "is truncated: its last Ogg page is incomplete"
                if not flags & 0x04:
                    return "is truncated: the Ogg stream has no end-of-stream page"
                return None
        pos = tail.rfind(b"OggS", 0, pos)
    return "is truncated: no complete Ogg page found at its end"


def _check_complete(path: Path) -> None:
    reason = _riff_truncation(path) or _ogg_truncation(path)
    if reason:
        raise AudioError(path, reason)


def _open_error(path: Path, exc: Exception) -> AudioError:
    if not path.exists():
        return AudioError(path, "does not exist")
    if path.is_dir():
        return AudioError(path, "is a directory, not an audio file")
    if path.stat().st_size == 0:
        return AudioError(path, "is empty (0 bytes)")
    msg = str(exc).replace(f"Error opening {str(path)!r}: ", "").strip()
    return AudioError(path, f"is not a readable audio file ({msg})")


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


def _ogg_vorbis_header(path: Path, head: bytes, size: int):
    if len(head) < 58 or head[:4] != b"OggS" or not head[5] & 0x02:  # first page: BOS
        return None
    n_seg = head[26]
    pkt = 27 + n_seg
    if head[pkt:pkt + 7] != b"\x01vorbis" or len(head) < pkt + 30:
        return None
    ch = head[pkt + 11]
    sr = struct.unpack("<I", head[pkt + 12:pkt + 16])[0]
    serial = head[14:18]
    with open(path, "rb") as fh:
        tail_len = min(size, 70000)
        fh.seek(size - tail_len)
        tail = fh.read(tail_len)
    pos = tail.rfind(b"OggS")
    if pos < 0 or pos + 27 > len(tail) or tail[pos + 14:pos + 18] != serial:
        return None
    granule = struct.unpack("<q", tail[pos + 6:pos + 14])[0]
    if ch < 1 or sr < 1 or granule <= 0:
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
    files that are not audio, empty, missing or announced as truncated. Damage inside the
    audio data itself shows up only when decoding (:func:`read_audio`).

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
            info = sf.info(str(path))
        except Exception as exc:  # libsndfile errors, OSError
            raise _open_error(path, exc) from None
        sr, frames, channels = int(info.samplerate), int(info.frames), int(info.channels)
        fmt, subtype = str(info.format), str(info.subtype)
    _check_complete(path)
    if frames <= 0:
        raise AudioError(path, "contains no audio samples (empty or truncated)")
    return AudioInfo(path, int(sr), int(frames), int(channels), frames / float(sr), fmt,
                     subtype)


def read_audio(path: PathLike, dtype=np.float32) -> Tuple[np.ndarray, int]:
    """Decode a whole file: ``(y, sr)`` with ``y`` of shape ``(n_channels, n_samples)``.

    Samples are floats in [-1, 1] (float32 by default). Files that are not audio, empty,
    truncated (WAV data chunk or Ogg stream cut short, FLAC decoding errors) or hold NaN/Inf
    samples raise :class:`AudioError` naming the file.

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
        data, sr = sf.read(str(path), dtype=dtype.name, always_2d=True)
    except Exception as exc:
        if isinstance(exc, (sf.LibsndfileError,)) and "Error opening" not in str(exc):
            raise AudioError(path, f"cannot be decoded, it is corrupt or truncated ({exc})") \
                from None
        raise _open_error(path, exc) from None
    if data.shape[0] == 0:
        raise AudioError(path, "contains no audio samples (empty or truncated)")
    y = np.ascontiguousarray(data.T)
    if not np.isfinite(y).all():
        raise AudioError(path, "contains NaN or Inf samples")
    return y, int(sr)


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
    if isinstance(length, (bool, np.bool_)) or not isinstance(length, numbers.Integral):
        raise TypeError(f"length must be an int, got {length!r}")
    if length < 1:
        raise ValueError(f"length must be >= 1 sample, got {length}")
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


def chunk_frames(S: np.ndarray, chunk_frames: int, chunk_count: Optional[int] = None,
                 what: str = "signal") -> np.ndarray:
    """Split the last (time) axis into complete chunks: ``(n_chunks, ..., chunk_frames)``.

    Keeps the first ``chunk_count`` complete chunks (all complete chunks when ``None``);
    fewer complete chunks than ``chunk_count`` raise ``ValueError`` ("too few chunks").

    >>> chunk_frames(np.arange(10.0)[None], 3, 2).tolist()
    [[[0.0, 1.0, 2.0]], [[3.0, 4.0, 5.0]]]
    """
    if isinstance(chunk_frames, (bool, np.bool_)) or not isinstance(chunk_frames, numbers.Integral):
        raise TypeError(f"chunk_frames must be an int, got {chunk_frames!r}")
    if chunk_frames < 1:
        raise ValueError(f"chunk_frames must be >= 1, got {chunk_frames}")
    S = np.asarray(S)
    n_complete = S.shape[-1] // chunk_frames
    if chunk_count is not None:
        if chunk_count < 1:
            raise ValueError(f"chunk_count must be >= 1, got {chunk_count}")
        if n_complete < chunk_count:
            raise ValueError(f"too few chunks: the {what} has {S.shape[-1]} frames, i.e. "
                             f"{n_complete} complete chunks of {chunk_frames} frames, but "
                             f"chunk_count is {chunk_count}")
        n_complete = chunk_count
    if n_complete == 0:
        raise ValueError(f"too few chunks: the {what} has {S.shape[-1]} frames, fewer than one "
                         f"chunk of {chunk_frames}")
    used = S[..., :n_complete * chunk_frames]
    parts = used.reshape(S.shape[:-1] + (n_complete, chunk_frames))
    return np.ascontiguousarray(np.moveaxis(parts, -2, 0))


# ---------------------------------------------------------------------- feature settings

def _opt_float(value, name, minimum=None, strict=False, allow_none=True):
    if value is None:
        if allow_none:
            return None
        raise ValueError(f"{name} is required")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if minimum is not None and (value <= minimum if strict else value < minimum):
        raise ValueError(f"{name} must be {'>' if strict else '>='} {minimum}, got {value}")
    return value


def _opt_int(value, name, minimum=1):
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


@dataclasses.dataclass(frozen=True)
class FeatureSettings:
    """How features are computed from one clip (auDeep's ``extract_spectrograms`` options).

    Attributes
    ----------
    features : {"spectrogram", "autocorrelogram"}
        Mel/power spectrograms (dims ``("time", "freq")``) or framewise autocorrelograms
        (``("time", "lag")``, :func:`rae_fast.autocorrelogram`).
    window_width, window_overlap : float
        Frame length and overlap in seconds (auDeep's defaults for DCASE/ESC: 0.08 / 0.04).
    mel_bands : int or None
        Mel bands (``--mel-spectrum``); ``None`` keeps the linear power spectrum.
    clip_below, clip_above : float or None
        Clip dB values (0 dB = the clip's maximum) below / above these.
    pre_emphasis : float or None
        Pre-emphasis coefficient (auDeep always uses 0.95); spectrograms only.
    mean_norm : bool
        Normalise each chunk to [-1, 1] (spectrograms only).
    channels : {"mean", "left", "right", "diff"}
    fixed_length : float or None
        Cut / pad every clip to this many seconds.
    center_fixed : bool
        Centre the cut / padding.
    chunk_length : float or None, chunk_count : int or None
        Split into ``chunk_count`` chunks of ``chunk_length`` seconds (both or neither).
    sr : int or None
        Resample to this rate (Hz) first; ``None`` keeps each file's rate.
    max_lag, fmin : float or None
        Autocorrelograms only: largest lag in seconds, lowest frequency in Hz (not both).
    acf_window : str or None
        Autocorrelograms only: window applied to each frame before correlating (a name of
        :func:`rae_fast.get_window`, e.g. ``"hann"``); None (default): rectangular.
    acf_normalize : {"lag0", "unbiased", None}
        Autocorrelograms only (see :func:`rae_fast.autocorrelogram`): ``"lag0"`` (default)
        divides by the zero-lag value, ``"unbiased"`` divides lag l by the overlap
        ``frame - l``, None keeps the raw sums.
    acf_detrend : bool
        Autocorrelograms only: remove each frame's mean first.

    >>> s = FeatureSettings(fixed_length=5.0, center_fixed=True)
    >>> s.frame_params(44100), s.expected_shape(220500, 44100)
    ((3528, 1764), (124, 128))
    """
    features: str = "spectrogram"
    window_width: float = 0.08
    window_overlap: float = 0.04
    mel_bands: Optional[int] = 128
    clip_below: Optional[float] = -60.0
    clip_above: Optional[float] = None
    pre_emphasis: Optional[float] = 0.95
    mean_norm: bool = True
    channels: str = "mean"
    fixed_length: Optional[float] = None
    center_fixed: bool = False
    chunk_length: Optional[float] = None
    chunk_count: Optional[int] = None
    sr: Optional[int] = None
    max_lag: Optional[float] = None
    fmin: Optional[float] = None
    acf_window: Optional[str] = None
    acf_normalize: Optional[str] = "lag0"
    acf_detrend: bool = False

    def __post_init__(self):
        if self.features not in ("spectrogram", "autocorrelogram"):
            raise ValueError(f"features must be 'spectrogram' or 'autocorrelogram', got "
                             f"{self.features!r}")
        ww = _opt_float(self.window_width, "window_width", 0.0, strict=True, allow_none=False)
        wo = _opt_float(self.window_overlap, "window_overlap", 0.0, allow_none=False)
        if wo >= ww:
            raise ValueError(f"window_overlap ({wo} s) must be shorter than window_width "
                             f"({ww} s)")
        _opt_int(self.mel_bands, "mel_bands", 1)
        cb = _opt_float(self.clip_below, "clip_below")
        ca = _opt_float(self.clip_above, "clip_above")
        if cb is not None and ca is not None and cb > ca:
            raise ValueError(f"clip_below ({cb} dB) must be <= clip_above ({ca} dB)")
        pe = _opt_float(self.pre_emphasis, "pre_emphasis", -1.0)
        if pe is not None and pe > 1.0:
            raise ValueError(f"pre_emphasis must be in [-1, 1], got {pe}")
        if not isinstance(self.mean_norm, (bool, np.bool_)):
            raise TypeError(f"mean_norm must be True or False, got {self.mean_norm!r}")
        if not isinstance(self.center_fixed, (bool, np.bool_)):
            raise TypeError(f"center_fixed must be True or False, got {self.center_fixed!r}")
        if not isinstance(self.channels, str) or self.channels.lower() not in CHANNEL_MODES:
            raise ValueError(f"channels must be one of {CHANNEL_MODES}, got {self.channels!r}")
        fl = _opt_float(self.fixed_length, "fixed_length", 0.0, strict=True)
        if fl is not None and fl < ww:
            raise ValueError(f"fixed_length ({fl} s) must be at least one window "
                             f"(window_width = {ww} s)")
        cl = _opt_float(self.chunk_length, "chunk_length", 0.0, strict=True)
        cc = _opt_int(self.chunk_count, "chunk_count", 1)
        if (cl is None) != (cc is None):
            raise ValueError("chunk_length and chunk_count must be given together (or neither)")
        if cl is not None and fl is not None and cl * cc > fl + 1e-9:
            raise ValueError(f"chunk_count x chunk_length ({cc} x {cl} s) exceeds fixed_length "
                             f"({fl} s): too few chunks")
        _opt_int(self.sr, "sr", 1)
        _opt_float(self.max_lag, "max_lag", 0.0, strict=True)
        _opt_float(self.fmin, "fmin", 0.0, strict=True)
        if self.max_lag is not None and self.fmin is not None:
            raise ValueError("give max_lag or fmin, not both (fmin sets max_lag to its period)")
        self._check_acf_options()

    def _check_acf_options(self) -> None:
        if self.acf_window is not None:
            if not isinstance(self.acf_window, str):
                raise TypeError(f"acf_window must be a window name (str) or None, got "
                                f"{self.acf_window!r}")
            from .dsp import get_window
            try:
                get_window(self.acf_window, 16)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"acf_window: {exc}") from None
        if self.acf_normalize not in ("lag0", "unbiased", None):
            raise ValueError(f'acf_normalize must be "lag0", "unbiased" or None, got '
                             f'{self.acf_normalize!r}')
        if not isinstance(self.acf_detrend, (bool, np.bool_)):
            raise TypeError(f"acf_detrend must be True or False, got {self.acf_detrend!r}")
        if self.features != "autocorrelogram":
            given = [name for name, value, default in (
                ("max_lag", self.max_lag, None), ("fmin", self.fmin, None),
                ("acf_window", self.acf_window, None),
                ("acf_normalize", self.acf_normalize, "lag0"),
                ("acf_detrend", bool(self.acf_detrend), False)) if value != default]
            if given:
                verb = "apply" if len(given) > 1 else "applies"
                raise ValueError(f"{', '.join(given)} only {verb} to features='autocorrelogram', "
                                 f"not to {self.features!r}")

    # derived quantities ------------------------------------------------------------------
    @property
    def feature_dims(self) -> Tuple[str, str]:
        """``("time", "freq")`` for spectrograms, ``("time", "lag")`` for autocorrelograms."""
        return ("time", "freq") if self.features == "spectrogram" else ("time", "lag")

    def frame_params(self, sr: int, n_samples: Optional[int] = None) -> Tuple[int, int]:
        """``(win_length, hop_length)`` in samples at rate ``sr``.

        ``int(sr * window_width)`` and ``win - int(sr * window_overlap)``; with
        ``fixed_length`` set, the overlap is moved by one sample when rounding would give
        more or fewer frames than ``int((fixed_length - overlap) / step)`` (auDeep's rule).
        """
        win = int(sr * self.window_width)
        overlap = int(sr * self.window_overlap)
        if win < 1:
            raise ValueError(f"window_width = {self.window_width} s is shorter than one sample "
                             f"at {sr} Hz")
        if self.fixed_length is not None:
            n = int(self.fixed_length * sr) if n_samples is None else n_samples
            step_s = self.window_width - self.window_overlap
            expected = int((self.fixed_length - self.window_overlap) / step_s)
            actual = (n - overlap) // (win - overlap)
            if actual > expected:
                overlap -= 1
            elif actual < expected:
                overlap += 1
        hop = win - overlap
        if hop < 1 or overlap < 0:
            raise ValueError(f"window_overlap leaves no hop at {sr} Hz "
                             f"(window {win}, overlap {overlap} samples)")
        return win, hop

    def max_lag_samples(self, sr: int, win: int) -> int:
        """Autocorrelograms: the largest lag in samples (``int(sr * max_lag)``, the period of
        ``fmin``, or ``win // 2``); it must be shorter than the window."""
        if self.max_lag is not None:
            lag = max(1, int(sr * self.max_lag))
        elif self.fmin is not None:
            lag = int(math.ceil(sr / self.fmin))
        else:
            lag = win // 2
        if lag >= win:
            raise ValueError(f"the largest lag ({lag} samples) must be shorter than the window "
                             f"({win} samples at {sr} Hz): lower max_lag / raise fmin or widen "
                             "window_width")
        return lag

    def chunk_windows(self, sr: int, hop: int) -> Optional[int]:
        """Frames per chunk: ``int(sr * chunk_length) // hop`` (auDeep), or None."""
        if self.chunk_length is None:
            return None
        cw = int(sr * self.chunk_length) // hop
        if cw < 1:
            raise ValueError(f"chunk_length = {self.chunk_length} s is shorter than one hop "
                             f"({hop} samples at {sr} Hz)")
        return cw

    def expected_shape(self, n_samples: int, sr: int) -> Tuple[int, ...]:
        """Shape of one instance for a clip of ``n_samples`` at ``sr`` (after resampling),
        ``(n_frames, n_bands)`` (mel bands, FFT bins, or ``max_lag + 1`` lags for
        autocorrelograms); raises ``ValueError`` for clips too short for one window or for
        ``chunk_count`` chunks."""
        n = int(self.fixed_length * sr) if self.fixed_length is not None else int(n_samples)
        win, hop = self.frame_params(sr, n)
        if n < win:
            raise ValueError(f"the clip has {n} samples, fewer than one window of {win} "
                             f"({self.window_width} s)")
        n_frames = 1 + (n - win) // hop
        if self.features == "spectrogram":
            bands = self.mel_bands if self.mel_bands is not None else win // 2 + 1
        else:
            bands = self.max_lag_samples(sr, win) + 1
        cw = self.chunk_windows(sr, hop)
        if cw is not None:
            if n_frames // cw < self.chunk_count:
                raise ValueError(f"too few chunks: {n_frames} frames give {n_frames // cw} "
                                 f"complete chunks of {self.chunk_length} s, chunk_count is "
                                 f"{self.chunk_count}")
            n_frames = cw
        return (n_frames, bands)

    def to_attrs(self) -> Dict[str, Any]:
        """The settings as a dict for a data set's ``attrs`` (None values included)."""
        return {f"preprocess.{k}": v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_attrs(cls, attrs: Dict[str, Any]) -> "FeatureSettings":
        """Inverse of :meth:`to_attrs` (ignores other keys)."""
        kw = {k[len("preprocess."):]: v for k, v in attrs.items() if k.startswith("preprocess.")}
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in kw.items() if k in names})


# ---------------------------------------------------------------------- feature extraction

def compute_features(y: np.ndarray, sr: int, settings: FeatureSettings = FeatureSettings(),
                     *, mean_norm: Optional[bool] = None, n_threads: int = 1,
                     what: str = "signal") -> np.ndarray:
    """Features of one clip that already went through channels / resampling / fixed length.

    Parameters
    ----------
    y : ndarray ``(n_samples,)`` float
    sr : int
        Sampling rate in Hz.
    settings : FeatureSettings
    mean_norm : bool, optional
        Override ``settings.mean_norm`` (e.g. ``False`` to look at dB values).
    n_threads : int
        Threads of the C++ core for this clip (1 when clips run in parallel).

    Returns
    -------
    ndarray float32 ``(n_chunks, n_frames, n_bands)`` - time-major, ``n_chunks`` is 1 without
    chunking.

    >>> y = np.random.default_rng(1).standard_normal(22050).astype(np.float32)
    >>> compute_features(y, 22050, FeatureSettings(mel_bands=40)).shape
    (1, 24, 40)
    """
    import rae_fast

    norm = settings.mean_norm if mean_norm is None else bool(mean_norm)
    n = y.shape[-1]
    win, hop = settings.frame_params(sr, n)
    if n < win:
        raise ValueError(f"the {what} has {n} samples, fewer than one window of {win} "
                         f"({settings.window_width} s at {sr} Hz)")
    cw = settings.chunk_windows(sr, hop)
    if settings.features == "spectrogram":
        S = rae_fast.spectrogram(y, sr, n_mels=settings.mel_bands,
                                 clip_below=settings.clip_below, clip_above=settings.clip_above,
                                 pre_emphasis=settings.pre_emphasis,
                                 mean_norm=bool(norm and cw is None), win_length=win,
                                 hop_length=hop, n_threads=n_threads)
        if cw is not None:
            S = chunk_frames(S, cw, settings.chunk_count, what)
            if norm:
                S = rae_fast.audeep_normalize(S, n_threads=n_threads)
        else:
            S = S[None]
    else:
        kw = dict(sr=sr, frame_length=win, hop_length=hop, center=False, n_threads=n_threads,
                  max_lag=settings.max_lag_samples(sr, win), window=settings.acf_window,
                  normalize=settings.acf_normalize, detrend=bool(settings.acf_detrend))
        S = np.asarray(rae_fast.autocorrelogram(y, **kw), dtype=np.float32)
        S = chunk_frames(S, cw, settings.chunk_count, what) if cw is not None else S[None]
    return np.ascontiguousarray(np.swapaxes(S, -1, -2), dtype=np.float32)


def extract_features(path: PathLike, settings: FeatureSettings = FeatureSettings(), *,
                     mean_norm: Optional[bool] = None, n_threads: int = 1) -> np.ndarray:
    """Load one audio file and compute its features: float32 ``(n_chunks, n_frames, n_bands)``.

    Errors about the file (unreadable, empty, truncated, too short, too few chunks) are
    :class:`AudioError` naming it.

    >>> X = extract_features("1-100032-A.ogg", FeatureSettings(fixed_length=5.0))  # doctest: +SKIP
    >>> X.shape                                                                    # doctest: +SKIP
    (1, 124, 128)
    """
    y, sr = load_audio(path, sr=settings.sr, channels=settings.channels,
                       fixed_length=settings.fixed_length, center_fixed=settings.center_fixed)
    try:
        return compute_features(y, sr, settings, mean_norm=mean_norm, n_threads=n_threads,
                                what="clip")
    except ValueError as exc:
        raise AudioError(path, str(exc)) from None


# ---------------------------------------------------------------------- whole collections

@dataclasses.dataclass
class PreprocessResult:
    """Summary of :func:`preprocess` (``seconds`` is wall time of this run)."""
    path: Path
    parser: str
    n_files: int
    n_instances: int
    feature_shape: Tuple[int, ...]
    skipped: List[Tuple[str, str]]
    resumed_files: int
    processed_files: int
    seconds: float


def _ordered_map(fn: Callable, items: Sequence, workers: int,
                 max_pending: int) -> Iterator[Tuple[Any, Any]]:
    """``(item, fn(item))`` in input order, at most ``max_pending`` results in flight."""
    if workers <= 1:
        for item in items:
            yield item, fn(item)
        return
    pending: collections.deque = collections.deque()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rae-preprocess") as pool:
        try:
            for item in items:
                pending.append((item, pool.submit(fn, item)))
                if len(pending) >= max_pending:
                    it, fut = pending.popleft()
                    yield it, fut.result()
            while pending:
                it, fut = pending.popleft()
                yield it, fut.result()
        finally:
            for _, fut in pending:
                fut.cancel()


def _files_fingerprint(instances) -> str:
    h = hashlib.sha256()
    for inst in instances:
        try:
            st = inst.path.stat()
            stamp = f"{st.st_size}:{st.st_mtime_ns}"
        except OSError:
            stamp = "missing"
        h.update(f"{inst.filename}\0{stamp}\0".encode())
    return h.hexdigest()


def _info_or_error(inst):
    try:
        return audio_info(inst.path)
    except AudioError as exc:
        return exc


def _check_header(inst, info, settings: FeatureSettings, bad: list, shapes: dict,
                  good: list) -> None:
    """Sort one file of the header pass into ``bad`` / ``good`` and count its shape."""
    if isinstance(info, AudioError):
        bad.append((inst.filename, info.reason))
        return
    n = info.frames if settings.sr is None else int(round(info.frames * settings.sr / info.sr))
    sr = info.sr if settings.sr is None else settings.sr
    try:
        shape = settings.expected_shape(n, sr)
    except ValueError as exc:
        bad.append((inst.filename, str(exc)))
        return
    entry = shapes.setdefault(shape, [0, inst.filename])
    entry[0] += 1
    good.append(inst)


def _format_bad(bad: List[Tuple[str, str]], limit: int = 20) -> str:
    lines = [f"  {name}: {reason}" for name, reason in bad[:limit]]
    if len(bad) > limit:
        lines.append(f"  ... and {len(bad) - limit} more")
    return "\n".join(lines)


def preprocess(basedir: PathLike, output: PathLike, settings: FeatureSettings = FeatureSettings(),
               parser: str = "auto", parser_options: Optional[Dict[str, Any]] = None,
               workers: Optional[int] = None, skip_bad: bool = False, resume: bool = True,
               show_progress: Optional[bool] = None) -> PreprocessResult:
    """Turn an audio collection into a netCDF data set of features, streaming to disk.

    Parses ``basedir`` (:func:`rae_fast.datasets.parse_dataset`), checks every file's header
    first (all unreadable / too short files are reported together), then computes the
    features with ``workers`` threads (results do not depend on it) and appends them, in
    order, to ``<output>.partial``, renamed to ``output`` at the end. An interruption leaves
    only ``<output>.partial``; running again with the same settings and files resumes after
    the last written file, different settings start again.

    Parameters
    ----------
    basedir : folder of the collection
    output : the ``.nc`` file to write
    settings : FeatureSettings
    parser : str
        A parser name (``rae_fast.datasets.PARSERS``) or ``"auto"``.
    parser_options : dict, optional
        Options for the parser (e.g. ``{"n_folds": 5}`` for ``class_folders``).
    workers : int, optional
        Worker threads (default: all cores).
    skip_bad : bool
        Skip unusable files (listed in the result and in the file's ``skipped_files``
        attribute) instead of failing.
    resume : bool
        Continue a matching ``<output>.partial`` (default) or always start from scratch.
    show_progress : bool or None
        Progress bar (None: only on a terminal).

    Returns
    -------
    PreprocessResult

    Raises
    ------
    ValueError
        Unparseable folder, bad files (unless ``skip_bad``), clips of different lengths
        without ``fixed_length``, too few chunks... (:class:`AudioError` names the file.)

    >>> res = preprocess("esc10", "esc10.nc", FeatureSettings(fixed_length=5.0,
    ...                  center_fixed=True), workers=2)            # doctest: +SKIP
    >>> res.n_instances, res.feature_shape                          # doctest: +SKIP
    (400, (124, 128))
    """
    from .dataset import DataSetWriter
    from .datasets import parse_dataset
    from .progress import progress

    if not isinstance(settings, FeatureSettings):
        raise TypeError(f"settings must be a FeatureSettings, got {type(settings).__name__}")
    if workers is None:
        workers = os.cpu_count() or 1
    workers = _opt_int(workers, "workers", 1)
    t0 = time.perf_counter()
    output = Path(output)
    parsed = parse_dataset(basedir, parser, **(parser_options or {}))
    instances = parsed.instances
    if not instances:
        raise ValueError(f"no audio files found in {basedir} (parser {parsed.parser})")

    # 1. headers of every file, in parallel: report all unusable files at once
    bad: List[Tuple[str, str]] = []
    shapes: Dict[Tuple[int, ...], List] = {}  # shape -> [count, first file]
    good = []
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        infos = pool.map(_info_or_error, instances)  # consumed as they come: memory stays flat
        for inst, info in zip(instances, infos):
            _check_header(inst, info, settings, bad, shapes, good)
    if bad and not skip_bad:
        raise ValueError(f"{len(bad)} unusable audio file(s) in {basedir} (use --skip-bad to "
                         f"leave them out):\n{_format_bad(bad)}")
    if not good:
        raise ValueError(f"no usable audio files in {basedir}:\n{_format_bad(bad)}")
    if len(shapes) > 1:
        examples = "; ".join(f"{v[0]} file(s) like {v[1]} -> {k[0]} frames"
                             for k, v in list(shapes.items())[:4])
        raise ValueError(f"the clips give features of different lengths ({examples}); set "
                         "fixed_length (--fixed-length SECONDS) or chunking (--chunk-length / "
                         "--chunk-count) so that every instance has the same shape")
    shape = next(iter(shapes))

    def work(inst):
        try:
            return extract_features(inst.path, settings)
        except AudioError as exc:
            return exc

    attrs = settings.to_attrs()
    attrs.update({"source.parser": parsed.parser, "source.basedir": str(Path(basedir).resolve()),
                  "source.n_files": len(instances),
                  "source.files_sha256": _files_fingerprint(instances),
                  "source.parser_options": dict(parser_options or {})})
    writer = DataSetWriter(output, settings.feature_dims, shape, parsed.n_folds,
                           parsed.label_map, attrs, resume=resume)
    try:
        done = writer.written_filenames() if writer.resumed else set()
        todo = [inst for inst in good if inst.filename not in done]
        resumed_files = len(good) - len(todo)
        n_bad_late = 0
        with progress(total=len(good), initial=resumed_files, desc="preprocess", unit="file",
                      disable=None if show_progress is None else not show_progress) as bar:
            for inst, result in _ordered_map(work, todo, workers, max_pending=4 * workers):
                if isinstance(result, AudioError):
                    if not skip_bad:
                        raise result
                    bad.append((inst.filename, result.reason))
                    n_bad_late += 1
                    bar.update(1)
                    continue
                if result.shape[1:] != tuple(shape):
                    raise AudioError(inst.path, f"gives features of shape {result.shape[1:]}, "
                                                f"expected {tuple(shape)} like the other files")
                k = result.shape[0]
                writer.append(result, [inst.filename] * k, chunk_nr=np.arange(k),
                              label_nominal=[inst.label_nominal] * k,
                              cv_folds=np.repeat(np.asarray([inst.cv_folds], np.int64).reshape(
                                  1, parsed.n_folds), k, axis=0),
                              partition=[inst.partition] * k)
                bar.update(1)
        n_instances = writer.n_written
        writer.close(extra_attrs={"skipped_files": [f"{n}: {r}" for n, r in bad]})
    except BaseException:
        writer.abort()
        raise
    if bad:
        log.info("skipped %d unusable file(s):\n%s", len(bad), _format_bad(bad))
    return PreprocessResult(output, parsed.parser, len(good) - n_bad_late, n_instances,
                            tuple(shape), bad, resumed_files, len(todo),
                            time.perf_counter() - t0)
